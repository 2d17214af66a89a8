// The shared half of Prompt Tuning and P-Tuning on a text LM: n virtual-token embeddings
// [n, hidden] prepended to every row's input embeddings, before BOS, as PEFT's
// PeftModelForCausalLM does (so the text's logits sit after the n virtual positions, which
// inserted_tokens() reports). A delta of this kind says only how its virtual tokens are made.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>

#include "models/llama/llama_config.h"
#include "src/delta/delta.h"

namespace vlprompt::prompts::lm {

// Refuses, before anything is allocated, sizes that could only exhaust memory: `n_virtual` must
// be >= 0 and leave a position for text in the model's max_position_embeddings; an encoder's
// hidden size (0 = the default) at most 16x the model's width. Errors name `method`'s key.
void check_virtual_sizes(const std::string& method, int64_t n_virtual, int64_t encoder_hidden,
                         const models::llama::LlamaConfig& config);

class PrependSites;

class VirtualTokenDeltaImpl : public delta::Delta {
 public:
  explicit VirtualTokenDeltaImpl(std::string method);
  ~VirtualTokenDeltaImpl() override;

  // The embeddings prepended to every row, [n_virtual, hidden], carrying the graph to the
  // parameters (an encoder runs here for P-Tuning).
  virtual at::Tensor virtual_tokens() = 0;
  virtual int64_t n_virtual() const = 0;

  // Text sites only: input_tokens prepends virtual_tokens() (nothing at all when n_virtual is 0,
  // so the pass is the plain model's), inserted_tokens() = n_virtual.
  nn::DeltaSites* sites(delta::Tower tower, const delta::SiteContext& context) override;
  bool touches(delta::Tower tower) const override { return tower == delta::Tower::kText; }

 private:
  std::unique_ptr<PrependSites> sites_;
};

// Prepends `virtual_tokens` [B, n, hidden] (one set per row) to `tokens` [B, L, hidden].
at::Tensor prepend_rows(const at::Tensor& virtual_tokens, const at::Tensor& tokens);

}  // namespace vlprompt::prompts::lm
