#include "datasets/fewshot.h"

#include <algorithm>
#include <random>
#include <sstream>
#include <unordered_map>

#include "datasets/split_file.h"
#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::datasets {
namespace {

// Uniform integer in [0, n) from raw mt19937_64 output. std::uniform_int_distribution (and so
// std::shuffle) is implementation-defined and would change the split between standard libraries;
// this rejection rule (drop the 2^64 mod n lowest values) is not.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;
  while (true) {
    const uint64_t r = rng();
    if (r >= threshold) return r % n;
  }
}

void fisher_yates(std::vector<size_t>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    std::swap(v[i - 1], v[uniform_below(rng, i)]);
  }
}

int64_t class_count(const DatasetSplit& split) {
  if (!split.classnames.empty()) return static_cast<int64_t>(split.classnames.size());
  int64_t n = 0;
  for (const auto& r : split.items) n = std::max(n, r.label + 1);
  return n;
}

// Item indices per label, in the split's (sorted, loader-defined) order.
std::vector<std::vector<size_t>> indices_by_class(const DatasetSplit& split, int64_t num_classes) {
  std::vector<std::vector<size_t>> by_class(static_cast<size_t>(num_classes));
  for (size_t i = 0; i < split.items.size(); ++i) {
    const int64_t label = split.items[i].label;
    if (label < 0 || label >= num_classes) {
      throw Error("dataset '" + split.dataset + "' split '" + split.split + "': item " +
                  std::to_string(i) + " has label " + std::to_string(label) + ", expected 0.." +
                  std::to_string(num_classes - 1));
    }
    by_class[static_cast<size_t>(label)].push_back(i);
  }
  return by_class;
}

std::string class_name(const DatasetSplit& split, size_t label) {
  const std::string name = label < split.classnames.size() ? split.classnames[label] : "";
  return "class " + std::to_string(label) + (name.empty() ? "" : " '" + name + "'");
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
  if (shots < 1) {
    throw Error("few-shot sampling of '" + train.dataset + "': shots is " + std::to_string(shots) +
                ", expected 1 or more");
  }
  const int64_t num_classes = class_count(train);
  const size_t k = static_cast<size_t>(shots);
  const size_t k_val = static_cast<size_t>(fewshot_val_shots(shots));
  FewShotSplitFile file;
  file.dataset = train.dataset;
  file.seed = seed;
  file.shots = shots;
  file.num_classes = num_classes;
  file.val_source = val ? "val" : "train";

  std::mt19937_64 rng(seed);
  std::vector<size_t> train_pick, val_pick;
  const auto train_by_class = indices_by_class(train, num_classes);
  for (size_t label = 0; label < train_by_class.size(); ++label) {
    std::vector<size_t> idx = train_by_class[label];
    fisher_yates(idx, rng);
    const size_t take = std::min(k, idx.size());
    if (take < k) {
      file.warnings.push_back(class_name(train, label) + " has " + std::to_string(idx.size()) +
                              " train items, fewer than " + std::to_string(k) +
                              " shots: took all of them");
    }
    train_pick.insert(train_pick.end(), idx.begin(), idx.begin() + take);
    if (val) continue;
    // No val split: the next items of the same shuffle, which the shots did not use.
    const size_t take_val = std::min(k_val, idx.size() - take);
    if (take_val < k_val) {
      file.warnings.push_back(class_name(train, label) + " has " +
                              std::to_string(idx.size() - take) +
                              " train items left after the shots for val, fewer than " +
                              std::to_string(k_val) + ": took all of them");
    }
    val_pick.insert(val_pick.end(), idx.begin() + take, idx.begin() + take + take_val);
  }
  if (val) {
    const auto val_by_class = indices_by_class(*val, num_classes);
    for (size_t label = 0; label < val_by_class.size(); ++label) {
      std::vector<size_t> idx = val_by_class[label];
      fisher_yates(idx, rng);
      const size_t take = std::min(k_val, idx.size());
      if (take < k_val) {
        file.warnings.push_back(class_name(*val, label) + " has " + std::to_string(idx.size()) +
                                " val items, fewer than " + std::to_string(k_val) +
                                ": took all of them");
      }
      val_pick.insert(val_pick.end(), idx.begin(), idx.begin() + take);
    }
  }
  file.train = entries_of(train, std::move(train_pick));
  file.val = entries_of(val ? *val : train, std::move(val_pick));
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

template <typename T>
void check_key(const std::string& path, const std::string& key, const T& in_file, const T& wanted) {
  if (in_file == wanted) return;
  std::ostringstream msg;
  msg << "key '" << key << "' is " << in_file << " in this few-shot split file, but this run has "
      << wanted << ": pass the matching value, or use another split file to draw a new split";
  throw FileError(path, msg.str());
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
  check_key(split_file, "dataset", "'" + file.dataset + "'", "'" + train.dataset + "'");
  check_key(split_file, "seed", file.seed, seed);
  check_key(split_file, "shots", file.shots, shots);
  check_key(split_file, "num_classes", file.num_classes, class_count(train));
  check_key(split_file, "val_source", file.val_source, std::string(val ? "val" : "train"));
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
