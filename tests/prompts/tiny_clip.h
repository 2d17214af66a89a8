// A tiny random CLIP (models/configs/tiny.yaml) and OpenAI's tokenizer, built once per test
// binary: enough to check CoOp's wiring exactly, in milliseconds.
#pragma once

#include <memory>
#include <string>

#include "models/clip/load_clip.h"
#include "src/text/clip_tokenizer.h"
#include "tests/test_support.h"

namespace vlprompt::testing {

inline std::shared_ptr<const text::ClipTokenizer> clip_tokenizer() {
  static std::shared_ptr<const text::ClipTokenizer> tokenizer =
      std::make_shared<const text::ClipTokenizer>(text::ClipTokenizer::from_file(clip_vocab()));
  return tokenizer;
}

inline models::Clip tiny_clip(uint64_t seed = 0) {
  return models::init_clip(models::load_config("tiny"), seed);
}

// The single token of a word (asserted by the caller's expectations on layouts).
inline int64_t token_of(const std::string& word) { return clip_tokenizer()->encode(word).at(0); }

}  // namespace vlprompt::testing
