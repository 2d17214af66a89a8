// CoOp's split files (split_zhou_<Dataset>.json, KaiyangZhou/CoOp datasets/oxford_pets.py
// save_split): {"train": [[rel_path, label, classname], ...], "val": [...], "test": [...]}.
#pragma once

#include <cstdint>
#include <string>

#include "datasets/dataset.h"

namespace vlprompt::datasets {

// Reads `split` from the JSON at `json_path`; image paths are `image_dir`/rel_path. Class names
// come from the entries of all three splits (so every split agrees on them), ordered by label,
// with '_' shown as ' ' as CoOp's prompt learner does. `num_classes` > 0 bounds the labels;
// otherwise the largest label seen sets the count. Throws FileError naming the file, split and
// entry index for a malformed entry, a label out of range, a label given two different names, or
// a label no entry names; a listed image that is absent follows `opts.skip_missing`.
DatasetSplit read_coop_split(const std::string& json_path, const std::string& image_dir,
                             const std::string& split, int64_t num_classes,
                             const LoadOptions& opts);

}  // namespace vlprompt::datasets
