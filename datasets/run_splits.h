// The data of one few-shot run: K shots per class from train (split file in the run folder,
// reused on resume), val with min(K, 4) per class (the dataset's own val split when it has one,
// else held out of train — never test), the full test split, each subsampled to base / new / all
// classes (CoOp's base-to-new protocol).
#pragma once

#include <string>

#include "datasets/dataset.h"

namespace vlprompt::datasets {

struct RunSplits {
  DatasetSplit train, val, test;
  std::string split_file;
  std::string split_hash;
  std::vector<std::string> warnings;
};

RunSplits load_run_splits(const std::string& dataset, const std::string& data_root, int64_t shots,
                          uint64_t seed, const std::string& subsample, const std::string& run_dir);

// Test split only (evaluation of a delta), subsampled the same way.
DatasetSplit load_eval_split(const std::string& dataset, const std::string& data_root,
                             const std::string& split, const std::string& subsample);

}  // namespace vlprompt::datasets
