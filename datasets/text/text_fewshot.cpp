#include "datasets/text/text_fewshot.h"

#include <algorithm>
#include <unordered_map>

#include "datasets/fewshot_draw.h"
#include "datasets/split_file.h"
#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::datasets {
namespace {

// LM records (label -1) are drawn as one class 0.
bool is_lm(const TextSplit& s) { return s.task == TextTask::kLm; }

int64_t draw_classes(const TextSplit& s) {
  return is_lm(s) ? 1 : static_cast<int64_t>(s.classnames.size());
}

std::vector<int64_t> draw_labels(const TextSplit& s) {
  std::vector<int64_t> out;
  out.reserve(s.items.size());
  for (const auto& r : s.items) out.push_back(is_lm(s) ? 0 : r.label);
  return out;
}

std::unordered_map<std::string, size_t> index_by_key(const TextSplit& s) {
  std::unordered_map<std::string, size_t> by_key;
  by_key.reserve(s.items.size());
  for (size_t i = 0; i < s.items.size(); ++i) {
    if (!by_key.emplace(s.items[i].key, i).second) {
      throw Error("text dataset '" + s.dataset + "' split '" + s.split +
                  "': two records have the "
                  "key '" +
                  s.items[i].key + "' (expected unique <file>:<line> keys)");
    }
  }
  return by_key;
}

std::vector<SplitEntry> text_entries_of(const TextSplit& s, const std::vector<size_t>& indices) {
  std::vector<SplitEntry> out;
  out.reserve(indices.size());
  for (size_t i : indices) out.push_back({s.items[i].key, s.items[i].label});
  return out;
}

FewShotSplitFile draw_text_split(const TextSplit& train, const TextSplit* val, int64_t shots,
                                 uint64_t seed) {
  index_by_key(train);  // keys must be unique to name records
  if (val) index_by_key(*val);
  const std::vector<int64_t> train_labels = draw_labels(train);
  std::vector<int64_t> val_labels;
  if (val) val_labels = draw_labels(*val);
  DrawNames names;
  names.dataset = train.dataset;
  names.train_split = train.split;
  names.val_split = val ? val->split : train.split;
  names.classnames = train.classnames;
  LabelDraw draw = draw_fewshot_labels(train_labels, val ? &val_labels : nullptr,
                                       draw_classes(train), shots, seed, names);
  FewShotSplitFile file;
  file.dataset = train.dataset;
  file.seed = seed;
  file.shots = shots;
  file.num_classes = static_cast<int64_t>(train.classnames.size());
  file.val_source = val ? "val" : "train";
  file.warnings = std::move(draw.warnings);
  file.train = text_entries_of(train, draw.train);
  file.val = text_entries_of(val ? *val : train, draw.val);
  return file;
}

TextSplit text_subset_of(const TextSplit& src, const std::vector<SplitEntry>& entries,
                         const std::string& split_name, const std::string& file_path) {
  const auto by_key = index_by_key(src);
  TextSplit out = src;
  out.split = split_name;
  out.items.clear();
  out.items.reserve(entries.size());
  for (size_t n = 0; n < entries.size(); ++n) {
    const SplitEntry& e = entries[n];
    const std::string where =
        "'" + split_name + "' entry " + std::to_string(n) + " '" + e.key + "'";
    const auto it = by_key.find(e.key);
    if (it == by_key.end()) {
      throw FileError(file_path, where + " is not a record of the " + src.split + " split of '" +
                                     src.dataset + "' (root " + src.root + ")");
    }
    const TextRecord& r = src.items[it->second];
    if (r.label != e.label) {
      throw FileError(file_path, where + " has label " + std::to_string(e.label) +
                                     " but the dataset gives it label " + std::to_string(r.label));
    }
    out.items.push_back(r);
  }
  return out;
}

TextFewShotSplits resolve_text(const FewShotSplitFile& file, const TextSplit& train,
                               const TextSplit* val, const std::string& file_path) {
  TextFewShotSplits out;
  out.train = text_subset_of(train, file.train, "train", file_path);
  out.val = text_subset_of(val ? *val : train, file.val, "val", file_path);
  out.warnings = file.warnings;
  out.content_hash = file.content_hash;
  return out;
}

}  // namespace

TextFewShotSplits sample_text_fewshot(const TextSplit& train, const TextSplit* val, int64_t shots,
                                      uint64_t seed) {
  FewShotSplitFile file = draw_text_split(train, val, shots, seed);
  file.content_hash = split_file_hash(file);
  return resolve_text(file, train, val, "<few-shot split in memory>");
}

TextFewShotSplits load_or_create_text_fewshot(const std::string& split_file, const TextSplit& train,
                                              const TextSplit* val, int64_t shots, uint64_t seed) {
  if (!core::file_exists(split_file)) {
    FewShotSplitFile file = draw_text_split(train, val, shots, seed);
    file.content_hash = write_split_file(split_file, file);
    return resolve_text(file, train, val, split_file);
  }
  const FewShotSplitFile file = read_split_file(split_file);
  check_split_file_matches(split_file, file, train.dataset, seed, shots,
                           static_cast<int64_t>(train.classnames.size()), val ? "val" : "train");
  return resolve_text(file, train, val, split_file);
}

}  // namespace vlprompt::datasets
