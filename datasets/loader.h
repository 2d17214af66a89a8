// The one entry point the engine and the CLI use: a dataset name (or folder) and a split in,
// a labelled list of images out, whatever the layout on disk.
#pragma once

#include <string>
#include <vector>

#include "datasets/catalog.h"
#include "datasets/dataset.h"

namespace vlprompt::datasets {

// `dataset` is a catalog name ("oxford_pets", case-insensitive; aliases such as "OxfordPets"
// work too) or the path of an image folder (<root>/<class>/*, or <root>/{train,test}/<class>/*;
// class names are the sorted folder names with '_' shown as ' ').
// `data_root` is where the dataset lives: the folder holding it (CoOp's DATASET.ROOT, e.g. the
// parent of oxford_pets/) or the dataset folder itself; "" uses the catalog's default root and
// is ignored for a folder path. `split` is "train", "val" or "test". Layouts without a
// validation split (image folders, CIFAR-10, Fashion-MNIST, ImageNet) refuse "val": carve it
// out of train rather than evaluate on test.
// Multi-domain datasets name the domain after a colon: "office_home:Art", "domainnet:clipart",
// "visda17:real" (an unknown or missing domain is an Error listing them). Every split records
// its domain (DatasetSplit::domain).
DatasetSplit load_split(const std::string& dataset, const std::string& data_root,
                        const std::string& split, const LoadOptions& opts = {});

// Error naming `where` and the repeated name when two classes share a name (after the layout's
// own normalisation, e.g. CoOp's '_' -> ' ').
void check_unique_classnames(const std::vector<std::string>& names, const std::string& where);

// Where a catalog dataset's files are: <data_root>/<dataset_dir> when that folder exists, else
// <data_root> itself; "" for data_root uses the entry's default root (relative to the source
// tree when relative). Error when there is no root; FileError when it is not a folder.
std::string resolve_dataset_dir(const CatalogEntry& entry, const std::string& data_root);

// "office_home:Art" -> {"office_home", "Art"}; a name without a colon (or a folder path) has an
// empty domain.
struct DatasetRef {
  std::string name, domain;
};
DatasetRef parse_dataset_ref(const std::string& dataset);

}  // namespace vlprompt::datasets
