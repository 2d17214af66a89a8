#include "datasets/text/text_fewshot.h"

#include "datasets/fewshot_sampler-inl.h"
#include "src/core/error.h"

namespace vlprompt::datasets {
namespace fewshot_sampler {

template <>
struct FewShotTraits<TextSplit> {
  using Splits = TextFewShotSplits;
  // A split file names records by key: with a repeated key it could not say which was picked.
  static constexpr bool kUniqueKeys = true;
  static constexpr const char* kItemNoun = "a record";
  // LM records (label -1) are drawn as one class 0.
  static bool is_lm(const TextSplit& s) { return s.task == TextTask::kLm; }
  static int64_t draw_classes(const TextSplit& s) {
    return is_lm(s) ? 1 : static_cast<int64_t>(s.classnames.size());
  }
  static int64_t file_classes(const TextSplit& s) {
    return static_cast<int64_t>(s.classnames.size());
  }
  static int64_t draw_label(const TextSplit& s, size_t i) {
    return is_lm(s) ? 0 : s.items[i].label;
  }
  static std::string key(const TextSplit& s, size_t i) { return s.items[i].key; }
  static Error duplicate_key(const TextSplit& s, size_t i) {
    return Error("text dataset '" + s.dataset + "' split '" + s.split +
                 "': two records have the key '" + s.items[i].key +
                 "' (expected unique <file>:<line> keys)");
  }
};

}  // namespace fewshot_sampler

TextFewShotSplits sample_text_fewshot(const TextSplit& train, const TextSplit* val, int64_t shots,
                                      uint64_t seed) {
  return fewshot_sampler::sample(train, val, shots, seed);
}

TextFewShotSplits load_or_create_text_fewshot(const std::string& split_file, const TextSplit& train,
                                              const TextSplit* val, int64_t shots, uint64_t seed) {
  return fewshot_sampler::load_or_create(split_file, train, val, shots, seed);
}

}  // namespace vlprompt::datasets
