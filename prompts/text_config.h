// The `text` section of a text-LM run's config: how texts become token rows and how classes are
// scored. Defaults are added to every run of an LM delta (prompts/run_config.cpp).
#pragma once

#include <cstdint>
#include <string>

namespace vlprompt::prompts {

struct TextConfig {
  // Longest token row (BOS + prompt + completion); longer prompts lose their *start*, so the
  // template's tail ("Topic:") and the completion stay.
  int64_t max_tokens = 256;
  // Rank classification: a class scores the sum of its label tokens' log-probabilities, or the
  // mean (length-normalised).
  std::string label_score = "sum";
  // Replaces the dataset's template ("{text} Topic:") when set.
  std::string template_text;

  template <class V>
  void visit(V& v) {
    v("max_tokens", max_tokens, "longest token row; longer prompts are cut at the front");
    v("label_score", label_score, "rank classification: sum | mean of label-token log-probs");
    v("template", template_text, "prompt template with {text}; default: the dataset's");
  }
};

}  // namespace vlprompt::prompts
