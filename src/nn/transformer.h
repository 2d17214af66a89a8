// The frozen transformer shared by CLIP's image and text towers and the text LM: OpenAI's
// pre-LN residual attention blocks with QuickGELU, batch-first [B, L, D]. Parameter names are
// OpenAI's state-dict names below the owning tower ("resblocks.0.attn.in_proj_weight", ...).
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "src/nn/attention.h"
#include "src/nn/delta_sites.h"

namespace vlprompt::nn {

// x * sigmoid(1.702 x): the GELU approximation CLIP was trained with (not exact GELU).
at::Tensor quick_gelu(const at::Tensor& x);

// mlp.c_fc [4w, w] -> QuickGELU -> mlp.c_proj [w, 4w].
class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(int64_t width);
  // `sites` (may be null) fill c_fc (LinearSite::kUp) and c_proj (kDown) of block `layer`.
  at::Tensor forward(const at::Tensor& x, DeltaSites* sites = nullptr, int64_t layer = 0);

  torch::nn::Linear c_fc{nullptr};
  torch::nn::Linear c_proj{nullptr};
};
TORCH_MODULE(Mlp);

struct TransformerOptions {
  /// Transformer text(TransformerOptions(512, 12, 8).causal(true));
  TransformerOptions(int64_t width, int64_t layers, int64_t heads)
      : width_(width), layers_(layers), heads_(heads) {}
  TORCH_ARG(int64_t, width);
  TORCH_ARG(int64_t, layers);
  TORCH_ARG(int64_t, heads);
  // Each token attends only to itself and earlier tokens (text towers, LMs).
  TORCH_ARG(bool, causal) = false;
};

// x + attn(ln_1(x)); x + mlp(ln_2(x)).
class ResidualAttentionBlockImpl : public torch::nn::Module {
 public:
  ResidualAttentionBlockImpl(int64_t width, int64_t heads);
  // `sites` with module-level sites filled (or null) reach this block as block `layer`.
  // `keys_values_out` (may be null) receives the attention's own keys and values of x.
  // With `packing`, x is the packed [1, T, w] of B rows (src/nn/row_packing.h).
  at::Tensor forward(const at::Tensor& x, const std::optional<KVPrefix>& prefix, bool causal,
                     DeltaSites* sites = nullptr, int64_t layer = 0,
                     KVPrefix* keys_values_out = nullptr, const RowPacking* packing = nullptr);
  // Only the keys and values the attention would make of x.
  KVPrefix keys_values(const at::Tensor& x, DeltaSites* sites = nullptr, int64_t layer = 0);

  torch::nn::LayerNorm ln_1{nullptr};
  SelfAttention attn{nullptr};
  torch::nn::LayerNorm ln_2{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(ResidualAttentionBlock);

class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(const TransformerOptions& options);

  // x [B, L, width] -> [B, L', width]. Before layer l it asks sites->layer_tokens(l, x) and
  // inside it sites->kv_prefix(l, B); `sites` may be null (the plain frozen model).
  at::Tensor forward(const at::Tensor& x, DeltaSites* sites = nullptr);

  // The same causal pass split at a prefix the rows share (shared-prefix encoding): `prefix`
  // [G, P, width] holds each group's first P positions, `rest` [B, S, width] every row's
  // positions after them, of which row b has `lengths`[b] (1..S, the rest is padding), `groups`
  // [B] int64 the group of each row (undefined: G is 1). Each layer runs the G prefixes once
  // and the B rows' own positions, packed without their padding, attending to their group's
  // prefix keys and values. Returns each row's output at its last position, [B, width]: equal
  // to forward() on the rows written out in full, gradients reaching `prefix` summed over its
  // rows. Layer tokens are not asked for (sites that fill them declare no shared prefix).
  at::Tensor forward_shared_prefix(const at::Tensor& prefix, const at::Tensor& rest,
                                   const at::Tensor& lengths, const at::Tensor& groups,
                                   DeltaSites* sites = nullptr);

  const TransformerOptions& options() const { return options_; }
  // Registered as "resblocks" (resblocks.0, resblocks.1, ...).
  torch::nn::ModuleList resblocks{nullptr};

 private:
  TransformerOptions options_;
};
TORCH_MODULE(Transformer);

}  // namespace vlprompt::nn
