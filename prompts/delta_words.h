// Reading learned context vectors as words, as the CoOp paper does (its interpret_prompt.py): for
// each learned vector, the vocabulary tokens whose input embeddings lie nearest in Euclidean
// distance. Only an aid to intuition: learned vectors need not lie near any word.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "src/text/clip_tokenizer.h"

namespace vlprompt::prompts {

struct WordMatch {
  int64_t id = 0;
  std::string token;  // the vocabulary entry ("photo</w>")
  std::string word;   // as text: decoded bytes, end-of-word marker dropped ("photo")
  double distance = 0;
};

// Whether a delta tensor holds text context vectors this can read: named "*.ctx" (or "ctx"),
// [n_ctx, D] or class-specific [C, n_ctx, D], with D the token-embedding width.
bool is_text_context(const std::string& name, const at::Tensor& tensor, int64_t embed_width);

// vectors [N, D], embeddings [V, D] (the token-embedding table) -> for each vector its `k`
// nearest token ids with their distances, nearest first (WordMatch's token/word left empty).
// Error naming both shapes when the widths differ.
std::vector<std::vector<WordMatch>> nearest_tokens(const at::Tensor& vectors,
                                                   const at::Tensor& embeddings, int64_t k);

// vectors [N, D], embeddings [V, D] (the token-embedding table) -> for each vector its `k`
// nearest tokens, nearest first. Errors name the mismatched widths, or a table larger than the
// tokenizer's vocabulary.
std::vector<std::vector<WordMatch>> nearest_words(const at::Tensor& vectors,
                                                  const at::Tensor& embeddings,
                                                  const text::ClipTokenizer& tokenizer, int64_t k);

}  // namespace vlprompt::prompts
