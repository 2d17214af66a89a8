#include "datasets/run_splits.h"

#include <filesystem>

#include "datasets/fewshot.h"
#include "datasets/loader.h"
#include "src/core/error.h"

namespace vlprompt::datasets {
namespace {

// Whether the dataset ships a val split: decided from its catalog entry (or, for an ad-hoc
// folder, a val/ subfolder) up front, so a genuine load error is never mistaken for "no val".
bool has_val_split(const std::string& dataset, const std::string& data_root) {
  if (std::filesystem::is_directory(dataset)) {
    return std::filesystem::is_directory(std::filesystem::path(dataset) / "val");
  }
  return datasets::load_catalog_entry(parse_dataset_ref(dataset).name).splits.count("val") > 0;
}

void check_subsample(const std::string& subsample) {
  if (subsample != "all" && subsample != "base" && subsample != "new") {
    throw Error("--subsample must be base, new or all; got '" + subsample + "'");
  }
}

}  // namespace

RunSplits load_run_splits(const std::string& dataset, const std::string& data_root, int64_t shots,
                          uint64_t seed, const std::string& subsample, const std::string& run_dir) {
  check_subsample(subsample);
  if (shots < 1) throw Error("--shots must be at least 1; got " + std::to_string(shots));
  const DatasetSplit train = datasets::load_split(dataset, data_root, "train");
  DatasetSplit val_full;
  const bool has_val = has_val_split(dataset, data_root);
  if (has_val) val_full = datasets::load_split(dataset, data_root, "val");
  RunSplits r;
  r.split_file = run_dir + "/split_fewshot.json";
  const datasets::FewShotSplits fs = datasets::load_or_create_fewshot(
      r.split_file, train, has_val ? &val_full : nullptr, shots, seed);
  r.split_hash = fs.content_hash;
  r.warnings = fs.warnings;
  // Shots are drawn over all classes first, then the classes split, as CoOp does.
  r.train = datasets::subsample_classes(fs.train, subsample);
  r.val = datasets::subsample_classes(fs.val, subsample);
  r.test = load_eval_split(dataset, data_root, "test", subsample);
  if (r.train.classnames.size() < 2) {
    // Softmax over one class is always 1: training would learn nothing and report 100%.
    throw Error("dataset '" + dataset + "' (subsample " + subsample + ") has " +
                std::to_string(r.train.classnames.size()) +
                " class; training a classifier needs at least two");
  }
  return r;
}

DatasetSplit load_eval_split(const std::string& dataset, const std::string& data_root,
                             const std::string& split, const std::string& subsample) {
  check_subsample(subsample);
  return datasets::subsample_classes(datasets::load_split(dataset, data_root, split), subsample);
}

}  // namespace vlprompt::datasets
