#include "datasets/fewshot.h"

#include <algorithm>
#include <unordered_map>

#include "datasets/fewshot_draw.h"
#include "datasets/split_file.h"
#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::datasets {
namespace {

int64_t class_count(const DatasetSplit& split) {
  if (!split.classnames.empty()) return static_cast<int64_t>(split.classnames.size());
  int64_t n = 0;
  for (const auto& r : split.items) n = std::max(n, r.label + 1);
  return n;
}

std::vector<int64_t> labels_of(const DatasetSplit& split) {
  std::vector<int64_t> out;
  out.reserve(split.items.size());
  for (const auto& r : split.items) out.push_back(r.label);
  return out;
}

// The path relative to the split's root (so a file made on one machine works on another), or
// "#<index>" for an in-memory item.
std::string record_key(const DatasetSplit& split, size_t index) {
  const std::string& path = split.items[index].path;
  if (path.empty()) return "#" + std::to_string(index);
  if (!split.root.empty()) {
    const std::string prefix = split.root.back() == '/' ? split.root : split.root + "/";
    if (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0) {
      return path.substr(prefix.size());
    }
  }
  return path;
}

std::vector<SplitEntry> entries_of(const DatasetSplit& split, std::vector<size_t> indices) {
  std::sort(indices.begin(), indices.end());
  std::vector<SplitEntry> out;
  out.reserve(indices.size());
  for (size_t i : indices) out.push_back({record_key(split, i), split.items[i].label});
  return out;
}

FewShotSplitFile draw_split(const DatasetSplit& train, const DatasetSplit* val, int64_t shots,
                            uint64_t seed) {
  const int64_t num_classes = class_count(train);
  const std::vector<int64_t> train_labels = labels_of(train);
  std::vector<int64_t> val_labels;
  if (val) val_labels = labels_of(*val);
  DrawNames names;
  names.dataset = train.dataset;
  names.train_split = train.split;
  names.val_split = val ? val->split : train.split;
  names.classnames = train.classnames;
  LabelDraw draw = draw_fewshot_labels(train_labels, val ? &val_labels : nullptr, num_classes,
                                       shots, seed, names);
  FewShotSplitFile file;
  file.dataset = train.dataset;
  file.seed = seed;
  file.shots = shots;
  file.num_classes = num_classes;
  file.val_source = val ? "val" : "train";
  file.warnings = std::move(draw.warnings);
  file.train = entries_of(train, std::move(draw.train));
  file.val = entries_of(val ? *val : train, std::move(draw.val));
  return file;
}

DatasetSplit subset_of(const DatasetSplit& src, const std::vector<SplitEntry>& entries,
                       const std::string& split_name, const std::string& list_name,
                       const std::string& file_path) {
  std::unordered_map<std::string, size_t> by_key;
  by_key.reserve(src.items.size());
  for (size_t i = 0; i < src.items.size(); ++i) by_key.emplace(record_key(src, i), i);
  DatasetSplit out = src;
  out.split = split_name;
  out.items.clear();
  out.items.reserve(entries.size());
  for (size_t n = 0; n < entries.size(); ++n) {
    const SplitEntry& e = entries[n];
    const std::string where = "'" + list_name + "' entry " + std::to_string(n) + " '" + e.key + "'";
    auto it = by_key.find(e.key);
    if (it == by_key.end()) {
      throw FileError(file_path, where + " is not an item of the " + src.split + " split of '" +
                                     src.dataset + "' (root " + src.root + ")");
    }
    const ImageRecord& r = src.items[it->second];
    if (r.label != e.label) {
      throw FileError(file_path, where + " has label " + std::to_string(e.label) +
                                     " but the dataset gives it label " + std::to_string(r.label));
    }
    out.items.push_back(r);
  }
  return out;
}

FewShotSplits resolve(const FewShotSplitFile& file, const DatasetSplit& train,
                      const DatasetSplit* val, const std::string& file_path) {
  FewShotSplits out;
  out.train = subset_of(train, file.train, "train", "train", file_path);
  out.val = subset_of(val ? *val : train, file.val, "val", "val", file_path);
  out.warnings = file.warnings;
  out.content_hash = file.content_hash;
  return out;
}

}  // namespace

int64_t fewshot_val_shots(int64_t shots) { return std::min<int64_t>(shots, 4); }

FewShotSplits sample_fewshot(const DatasetSplit& train, const DatasetSplit* val, int64_t shots,
                             uint64_t seed) {
  FewShotSplitFile file = draw_split(train, val, shots, seed);
  file.content_hash = split_file_hash(file);
  return resolve(file, train, val, "<few-shot split in memory>");
}

FewShotSplits load_or_create_fewshot(const std::string& split_file, const DatasetSplit& train,
                                     const DatasetSplit* val, int64_t shots, uint64_t seed) {
  if (!core::file_exists(split_file)) {
    FewShotSplitFile file = draw_split(train, val, shots, seed);
    file.content_hash = write_split_file(split_file, file);
    return resolve(file, train, val, split_file);
  }
  const FewShotSplitFile file = read_split_file(split_file);
  check_split_file_matches(split_file, file, train.dataset, seed, shots, class_count(train),
                           val ? "val" : "train");
  return resolve(file, train, val, split_file);
}

DatasetSplit subsample_classes(const DatasetSplit& split, const std::string& which) {
  if (which == "all") return split;
  if (which != "base" && which != "new") {
    throw Error("subsample_classes: unknown class subset '" + which +
                "' (expected base, new or all)");
  }
  const int64_t n = class_count(split);
  const int64_t m = (n + 1) / 2;  // ceil(n / 2): an odd class goes to base, as in CoOp
  const int64_t first = which == "base" ? 0 : m;
  const int64_t last = which == "base" ? m : n;
  DatasetSplit out = split;
  out.items.clear();
  for (const auto& r : split.items) {
    if (r.label < first || r.label >= last) continue;
    out.items.push_back(r);
    out.items.back().label = r.label - first;
  }
  if (!split.classnames.empty()) {
    out.classnames.assign(split.classnames.begin() + first, split.classnames.begin() + last);
  }
  return out;
}

double harmonic_mean(double base, double novel) {
  const double sum = base + novel;
  return sum == 0.0 ? 0.0 : 2.0 * base * novel / sum;
}

}  // namespace vlprompt::datasets
