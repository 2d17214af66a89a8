// Lester et al.'s multi-task serving (Fig. 5): one batch on one frozen LM whose rows use different
// virtual-token deltas (Prompt Tuning, P-Tuning), or none.
//
// MixedPromptSites fills a single forward pass: row b gets deltas[rows[b]]'s virtual tokens
// (gathered from one [K, n, hidden] table), so each row equals its own single-delta run. All rows
// of one pass must prepend the same number of tokens: the LM has no padding mask, and a padded
// row would attend to its padding and no longer equal its single run. Rows with different counts
// (rows with no delta, -1, among rows with one) are refused with an Error naming them;
// mixed_text_logits() serves such batches by running one pass per count and keeping the text
// positions only.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "models/llama/llama_model.h"
#include "prompts/lm/virtual_tokens.h"

namespace vlprompt::prompts::lm {

using VirtualTokenDeltas = std::vector<std::shared_ptr<VirtualTokenDeltaImpl>>;

class MixedPromptSites : public nn::DeltaSites {
 public:
  // rows: [B] int64, deltas' indices or -1 for "no delta". Errors: an index out of range, or rows
  // whose deltas prepend different numbers of tokens.
  MixedPromptSites(VirtualTokenDeltas deltas, at::Tensor rows);

  at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor& token_ids) override;
  int64_t inserted_tokens() const override { return n_; }

 private:
  VirtualTokenDeltas deltas_;
  at::Tensor rows_;
  int64_t n_ = 0;
};

// Logits [B, L, vocab] at the text positions of ids [B, L] (virtual positions dropped), row b run
// with deltas[rows[b]] (or none for -1): rows are grouped by their virtual-token count and each
// group is one pass of MixedPromptSites.
at::Tensor mixed_text_logits(models::llama::LlamaModel& model, const at::Tensor& ids,
                             const VirtualTokenDeltas& deltas, const at::Tensor& rows);

}  // namespace vlprompt::prompts::lm
