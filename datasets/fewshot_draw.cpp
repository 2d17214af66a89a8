#include "datasets/fewshot_draw.h"

#include <algorithm>
#include <random>
#include <sstream>

#include "src/core/error.h"

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

// Item indices per label, in the given order.
std::vector<std::vector<size_t>> indices_by_class(const std::vector<int64_t>& labels,
                                                  int64_t num_classes, const std::string& dataset,
                                                  const std::string& split) {
  std::vector<std::vector<size_t>> by_class(static_cast<size_t>(num_classes));
  for (size_t i = 0; i < labels.size(); ++i) {
    const int64_t label = labels[i];
    if (label < 0 || label >= num_classes) {
      throw Error("dataset '" + dataset + "' split '" + split + "': item " + std::to_string(i) +
                  " has label " + std::to_string(label) + ", expected 0.." +
                  std::to_string(num_classes - 1));
    }
    by_class[static_cast<size_t>(label)].push_back(i);
  }
  return by_class;
}

std::string class_name(const DrawNames& names, size_t label) {
  const std::string name = label < names.classnames.size() ? names.classnames[label] : "";
  return "class " + std::to_string(label) + (name.empty() ? "" : " '" + name + "'");
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

LabelDraw draw_fewshot_labels(const std::vector<int64_t>& train_labels,
                              const std::vector<int64_t>* val_labels, int64_t num_classes,
                              int64_t shots, uint64_t seed, const DrawNames& names) {
  if (shots < 1) {
    throw Error("few-shot sampling of '" + names.dataset + "': shots is " + std::to_string(shots) +
                ", expected 1 or more");
  }
  const size_t k = static_cast<size_t>(shots);
  const size_t k_val = static_cast<size_t>(std::min<int64_t>(shots, 4));
  LabelDraw out;
  std::mt19937_64 rng(seed);
  const auto train_by_class =
      indices_by_class(train_labels, num_classes, names.dataset, names.train_split);
  for (size_t label = 0; label < train_by_class.size(); ++label) {
    std::vector<size_t> idx = train_by_class[label];
    fisher_yates(idx, rng);
    const size_t take = std::min(k, idx.size());
    if (take < k) {
      out.warnings.push_back(class_name(names, label) + " has " + std::to_string(idx.size()) +
                             " train items, fewer than " + std::to_string(k) +
                             " shots: took all of them");
    }
    out.train.insert(out.train.end(), idx.begin(), idx.begin() + take);
    if (val_labels) continue;
    // No val split: the next items of the same shuffle, which the shots did not use.
    const size_t take_val = std::min(k_val, idx.size() - take);
    if (take_val < k_val) {
      out.warnings.push_back(class_name(names, label) + " has " +
                             std::to_string(idx.size() - take) +
                             " train items left after the shots for val, fewer than " +
                             std::to_string(k_val) + ": took all of them");
    }
    out.val.insert(out.val.end(), idx.begin() + take, idx.begin() + take + take_val);
  }
  if (val_labels) {
    const auto val_by_class =
        indices_by_class(*val_labels, num_classes, names.dataset, names.val_split);
    for (size_t label = 0; label < val_by_class.size(); ++label) {
      std::vector<size_t> idx = val_by_class[label];
      fisher_yates(idx, rng);
      const size_t take = std::min(k_val, idx.size());
      if (take < k_val) {
        out.warnings.push_back(class_name(names, label) + " has " + std::to_string(idx.size()) +
                               " val items, fewer than " + std::to_string(k_val) +
                               ": took all of them");
      }
      out.val.insert(out.val.end(), idx.begin(), idx.begin() + take);
    }
  }
  std::sort(out.train.begin(), out.train.end());
  std::sort(out.val.begin(), out.val.end());
  return out;
}

void check_split_file_matches(const std::string& path, const FewShotSplitFile& file,
                              const std::string& dataset, uint64_t seed, int64_t shots,
                              int64_t num_classes, const std::string& val_source) {
  check_key(path, "dataset", "'" + file.dataset + "'", "'" + dataset + "'");
  check_key(path, "seed", file.seed, seed);
  check_key(path, "shots", file.shots, shots);
  check_key(path, "num_classes", file.num_classes, num_classes);
  check_key(path, "val_source", file.val_source, val_source);
}

}  // namespace vlprompt::datasets
