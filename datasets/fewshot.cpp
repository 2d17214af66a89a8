#include "datasets/fewshot.h"

#include <algorithm>

#include "datasets/fewshot_sampler-inl.h"
#include "src/core/error.h"

namespace vlprompt::datasets {
namespace {

int64_t class_count(const DatasetSplit& split) {
  if (!split.classnames.empty()) return static_cast<int64_t>(split.classnames.size());
  int64_t n = 0;
  for (const auto& r : split.items) n = std::max(n, r.label + 1);
  return n;
}

}  // namespace

namespace fewshot_sampler {

template <>
struct FewShotTraits<DatasetSplit> {
  using Splits = FewShotSplits;
  // An image list may name a file twice; the file's key then stands for its first item.
  static constexpr bool kUniqueKeys = false;
  static constexpr const char* kItemNoun = "an item";
  static int64_t draw_classes(const DatasetSplit& s) { return class_count(s); }
  static int64_t file_classes(const DatasetSplit& s) { return class_count(s); }
  static int64_t draw_label(const DatasetSplit& s, size_t i) { return s.items[i].label; }
  // The path relative to the split's root (so a file made on one machine works on another), or
  // "#<index>" for an in-memory item.
  static std::string key(const DatasetSplit& split, size_t index) {
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
};

}  // namespace fewshot_sampler

int64_t fewshot_val_shots(int64_t shots) { return std::min<int64_t>(shots, 4); }

FewShotSplits sample_fewshot(const DatasetSplit& train, const DatasetSplit* val, int64_t shots,
                             uint64_t seed) {
  return fewshot_sampler::sample(train, val, shots, seed);
}

FewShotSplits load_or_create_fewshot(const std::string& split_file, const DatasetSplit& train,
                                     const DatasetSplit* val, int64_t shots, uint64_t seed) {
  return fewshot_sampler::load_or_create(split_file, train, val, shots, seed);
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
