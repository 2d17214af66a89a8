// Where CoOp's context vectors sit in each class prompt. Positions are computed from token
// counts (the class name's own token length, as the reference code does), never by searching for
// a placeholder id: a class name may contain the placeholder word.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::prompts {

struct CoOpLayout {
  at::Tensor token_ids;  // [C, context_length] int64: SOS, prompt, EOS, zero padding
  at::Tensor rows;       // [C * n_ctx] int64, ordered (class, context index)
  at::Tensor cols;       // [C * n_ctx] int64
};

// `prefix_text` is the text standing at the context positions ("X X X X" or ctx_init), which
// must tokenize to exactly `n_ctx` tokens; `position` is "end", "middle" or "front". Class names
// read '_' as a space. Prompts are "<prefix_text> <name>." with the class tokens moved as
// `position` says; a prompt longer than `context_length` is an Error naming it.
CoOpLayout coop_layout(const text::ClipTokenizer& tokenizer, const std::string& prefix_text,
                       int64_t n_ctx, const std::vector<std::string>& classnames,
                       const std::string& position, int64_t context_length);

// Where a CoOp-family context starts, as the reference code sets it up: from `ctx_init`'s words
// ('_' reads as a space; their token embeddings, n_ctx = their token count) or from n_ctx "X"
// placeholders with vectors ~ N(0, init_std) drawn from `seed`. `copies` > 0 gives one set per
// class, [copies, n_ctx, D] (class-specific context), else [n_ctx, D]. Errors name `method`.
struct ContextStart {
  std::string prefix_text;  // the words standing at the context positions
  int64_t n_ctx = 0;
  at::Tensor vectors;  // float32, on the model's device
};
ContextStart context_start(const std::string& method, const std::string& ctx_init, int64_t n_ctx,
                           double init_std, uint64_t seed, int64_t copies, models::Clip& clip,
                           const text::ClipTokenizer& tokenizer);

// Writes learned context vectors into a batch of class-prompt embeddings with one index_put: row b
// gets values[b * n_ctx + k] at column cols[b][k]. tokens [B, L, D]; values [B * n_ctx, D];
// cols [B, n_ctx] (the context columns of each row's class). Gradients reach `values`.
at::Tensor write_context(const at::Tensor& tokens, const at::Tensor& values,
                         const at::Tensor& cols);

// The leading columns where every row of a context layout holds the same thing: the same context
// vector, or no context vector (there the token ids decide). cols [C, n_ctx] as CoOpLayout's, one
// vector set per row when `class_specific`. Shared-prefix encoding runs those columns once
// (nn::SharedPrefix); past the last context column only the ids decide (kUnlimited).
int64_t shared_context_columns(const at::Tensor& cols, bool class_specific);

// Learned text tokens share the context with the start and end tokens and at least one class
// token: Error naming `key` (e.g. "coop.n_ctx"), the value and the limit, before any memory is
// spent on a prompt that cannot fit.
void check_text_tokens(const std::string& key, int64_t n, int64_t context_length);
// Visual prompt tokens have no context length; this bound keeps a typo from allocating gigabytes.
inline constexpr int64_t kMaxVisualPromptTokens = 1024;
void check_visual_tokens(const std::string& key, int64_t n);

// Throws unless `position` is "end", "middle" or "front".
void check_class_token_position(const std::string& position);
const std::vector<std::string>& class_token_positions();  // end, middle, front

}  // namespace vlprompt::prompts
