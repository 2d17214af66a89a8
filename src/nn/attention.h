// Multi-head self-attention with OpenAI CLIP's parameter layout (one fused in-projection, as in
// torch.nn.MultiheadAttention), plus the dispatch to the fastest exact attention kernel the
// linked LibTorch offers.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <optional>

#include "src/nn/delta_sites.h"
#include "src/nn/row_packing.h"

namespace vlprompt::nn {

// softmax(q k^T / sqrt(head_dim) + mask) v for q [B, H, L, hd], k and v [B, H, S, hd].
// `additive_mask` is [L, S] or per row [B, L, S] (0 or -inf), or undefined; `causal_no_mask` asks
// for a plain causal mask when L == S and no explicit mask is given (lets LibTorch 2 pick a fused
// kernel).
at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k,
                                        const at::Tensor& v, const at::Tensor& additive_mask,
                                        bool causal_no_mask = false);

// The same with the heads concatenated, [B, L, H * hd]: what every attention here calls. CPU
// float32 with a BLAS runs blas_attention (src/nn/blas_attention.h; with or without a graph),
// anything else scaled_dot_product_attention above.
at::Tensor attention_concat_heads(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  const at::Tensor& additive_mask, bool causal_no_mask = false);

// [L, P + L] additive mask: all P prefix keys visible, then a causal triangle over the L real
// tokens (-inf above the diagonal).
at::Tensor causal_mask(int64_t length, int64_t prefix, const at::TensorOptions& options);

struct SelfAttentionOptions {
  SelfAttentionOptions(int64_t width, int64_t heads) : width_(width), heads_(heads) {}
  TORCH_ARG(int64_t, width);
  TORCH_ARG(int64_t, heads);
};

// Parameters: in_proj_weight [3w, w], in_proj_bias [3w], out_proj.{weight [w, w], bias [w]}.
class SelfAttentionImpl : public torch::nn::Module {
 public:
  explicit SelfAttentionImpl(const SelfAttentionOptions& options);

  // x [B, L, w] -> [B, L, w]. `prefix` keys/values ([B, P, w], projected space) come before the
  // real tokens and are visible to every query; `causal` masks only among the real tokens.
  // `sites` (may be null) fill q, k, v (in_proj's row blocks) and out_proj of block `layer`.
  // `keys_values_out` (may be null) receives x's own keys and values, [B, L, w] each: what the
  // rows after a shared prefix attend to (Transformer::forward_shared_prefix). With `packing`,
  // x is the packed [1, T, w] of B rows (src/nn/row_packing.h), and so is the output.
  at::Tensor forward(const at::Tensor& x, const std::optional<KVPrefix>& prefix, bool causal,
                     DeltaSites* sites = nullptr, int64_t layer = 0,
                     KVPrefix* keys_values_out = nullptr, const RowPacking* packing = nullptr);

  // x's keys and values alone, [B, L, w] each (a shared prefix's last layer needs no more).
  KVPrefix keys_values(const at::Tensor& x, DeltaSites* sites = nullptr, int64_t layer = 0);

  at::Tensor in_proj_weight;
  at::Tensor in_proj_bias;
  torch::nn::Linear out_proj{nullptr};

 private:
  // q, k, v as [B, H, L, hd] (views into one fused projection when no delta acts on them).
  std::array<at::Tensor, 3> project(const at::Tensor& x, DeltaSites* sites, int64_t layer);

  SelfAttentionOptions options_;
};
TORCH_MODULE(SelfAttention);

}  // namespace vlprompt::nn
