#include "datasets/text/text_run_splits.h"

#include "datasets/text/text_fewshot.h"
#include "datasets/text/text_loader.h"
#include "src/core/error.h"

namespace vlprompt::datasets {

TextRunSplits load_text_run_splits(const std::string& dataset, const std::string& data_root,
                                   int64_t shots, uint64_t seed, const std::string& run_dir,
                                   TextTask task, const TextFields& fields) {
  if (shots < -1) {
    throw Error("--shots must be at least 1, or 0 / -1 for all; got " + std::to_string(shots));
  }
  TextRunSplits r;
  const TextSplit train = load_text_split(dataset, data_root, "train", task, fields);
  const bool has_val = text_split_exists(dataset, data_root, "val");
  TextSplit val_full;
  if (has_val) val_full = load_text_split(dataset, data_root, "val", task, fields);
  if (shots >= 1) {
    r.split_file = run_dir + "/split_fewshot.json";
    TextFewShotSplits fs = load_or_create_text_fewshot(r.split_file, train,
                                                       has_val ? &val_full : nullptr, shots, seed);
    r.train = std::move(fs.train);
    r.val = std::move(fs.val);
    r.split_hash = fs.content_hash;
    r.warnings = std::move(fs.warnings);
  } else {
    r.train = train;
    if (has_val) {
      r.val = std::move(val_full);
    } else {
      r.val = train;
      r.val.split = "val";
      r.val.items.clear();
      r.warnings.push_back("text dataset '" + train.dataset +
                           "' has no val split and all of train is used: val is empty");
    }
  }
  r.test = load_text_split(dataset, data_root, "test", task, fields);
  // Found now, not after training, when there would be nothing to report and no delta saved.
  if (r.test.items.empty())
    throw Error("text dataset '" + train.dataset + "': the test split holds no records");
  return r;
}

}  // namespace vlprompt::datasets
