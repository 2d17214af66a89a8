// FGVC-Aircraft as CoOp reads it (KaiyangZhou/CoOp datasets/fgvc_aircraft.py): a class list file
// (one name per line, label = line index) and per-split lists of "<image id> <class name>".
#pragma once

#include <string>

#include "datasets/catalog.h"
#include "datasets/dataset.h"

namespace vlprompt::datasets {

// Loads `split` of a variant_lists entry whose data folder is `dir`: images are
// <dir>/<image_dir>/<id><image_suffix>. Throws FileError naming the list file and line for a
// malformed line or a class name the class list lacks.
DatasetSplit load_variant_lists(const CatalogEntry& entry, const std::string& dir,
                                const std::string& split, const LoadOptions& opts);

}  // namespace vlprompt::datasets
