// The data of one text run, mirroring datasets/run_splits.h: few-shot train and val (split file
// in the run folder, reused on resume) and the full test split.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/text/text_dataset.h"
#include "datasets/text/text_formats.h"

namespace vlprompt::datasets {

struct TextRunSplits {
  TextSplit train, val, test;
  std::string split_file;  // "" when nothing was drawn (shots <= 0)
  std::string split_hash;  // likewise
  std::vector<std::string> warnings;
};

// `dataset`: a catalog name or a file/folder path (datasets/text/text_loader.h).
// shots >= 1: K per class (K documents for kLm) drawn with `seed` into
// <run_dir>/split_fewshot.json (reused when present), val min(K, 4) per class from the dataset's
// val split when it has one, else carved from train.
// shots 0 or -1: all of train; val is the dataset's val split, or empty (with a warning) when it
// has none — train is never cut for it. No split file is written.
TextRunSplits load_text_run_splits(const std::string& dataset, const std::string& data_root,
                                   int64_t shots, uint64_t seed, const std::string& run_dir,
                                   TextTask task = TextTask::kClassification,
                                   const TextFields& fields = {});

}  // namespace vlprompt::datasets
