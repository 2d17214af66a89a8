// The fixed token vectors the official CoOp-family PromptLearners keep as buffers and save in every
// checkpoint (token_prefix, token_suffix), rebuilt from class names the way their __init__ does:
// the token embeddings of "<prompt_prefix> <name>." for each class, split around the n_ctx
// context positions. Their load_model deletes both before loading, so only the shapes and the
// embeddings of the words matter; an export still writes them, as the official save does.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::prompts::official {

struct PromptBuffers {
  at::Tensor token_prefix;  // [C, 1, D]: start-of-text
  at::Tensor token_suffix;  // [C, L - 1 - n_ctx, D]: class words, ".", end-of-text, padding
};

PromptBuffers prompt_buffers(models::Clip& clip, const text::ClipTokenizer& tokenizer,
                             const std::string& prompt_prefix, int64_t n_ctx,
                             const std::vector<std::string>& classnames);

// The words standing at the context positions in the official prompts of a delta with these
// hyper-parameters: ctx_init ('_' read as a space), else n_ctx "X" placeholders.
std::string official_prompt_prefix(const std::map<std::string, std::string>& hyperparameters,
                                   int64_t n_ctx);

}  // namespace vlprompt::prompts::official
