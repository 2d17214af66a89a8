// What the MaPLe repository's trainers (MaPLe, IVLP) have in common in their checkpoints: the
// trainer registers the whole CustomCLIP, so state_dict holds the frozen CLIP's weights
// (image_encoder.*, text_encoder.*, logit_scale) beside the learned tensors; the prompt learner
// starts its text context from CTX_INIT when n_ctx <= 4 ("a photo of a" in every official
// config), and its saved token_suffix tells whether it did.
#pragma once

#include <functional>
#include <string>

#include "prompts/official/format.h"

namespace vlprompt::prompts::official {

// The official configs' context words.
inline constexpr const char* kMapleRepoCtxInit = "a photo of a";

// Refuses keys that are neither learned (`learned(key)`) nor the frozen CLIP's, naming them.
void check_maple_family_keys(const DasslCheckpoint& checkpoint,
                             const std::function<bool(const std::string&)>& learned,
                             const std::string& method);

// The ctx_init that rebuilds the checkpoint's prompts: kMapleRepoCtxInit when n_ctx <= 4 and the
// saved token_suffix (key `suffix_key`) starts with the embeddings of its words after the first
// n_ctx (or when there is no token_suffix to say otherwise), else "" ("X" placeholders, the
// official random start).
std::string maple_family_ctx_init(const DasslCheckpoint& checkpoint, const ImportContext& context,
                                  int64_t n_ctx, const std::string& suffix_key);

// How many consecutive keys `prefix + i + suffix` (i = 0, 1, ...) the checkpoint holds.
int64_t count_indexed(const DasslCheckpoint& checkpoint, const std::string& prefix,
                      const std::string& suffix, int64_t first = 0);

}  // namespace vlprompt::prompts::official
