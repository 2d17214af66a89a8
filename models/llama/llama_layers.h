// The blocks of a LLaMA decoder layer with Hugging Face's parameter names: RMSNorm, rotary
// position embeddings (rotate-half layout), grouped-query self-attention and the SwiGLU MLP.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "models/llama/llama_config.h"
#include "src/nn/delta_sites.h"

namespace vlprompt::models::llama {

// weight * x / sqrt(mean(x^2) + eps), computed in fp32 whatever the input type.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t width, double eps);
  // `delta` (a norm site's) replaces or offsets the weight and may add a bias.
  at::Tensor forward(const at::Tensor& x, const std::optional<nn::NormDelta>& delta = std::nullopt);

  at::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

// cos and sin [L, head_dim] for absolute positions start .. start + length - 1, as HF builds
// them: inv_freq = 1 / theta^(2i / d), angles duplicated as [freqs, freqs].
struct Rotary {
  at::Tensor cos;
  at::Tensor sin;
};
Rotary rotary_tables(int64_t head_dim, double theta, int64_t start, int64_t length);
// The same for each row's own positions [N, L]: cos and sin [N, 1, L, d], broadcasting over heads.
Rotary rotary_tables_at(int64_t head_dim, double theta, const at::Tensor& positions);

// x * cos + rotate_half(x) * sin, with rotate_half(x) = [-x2, x1] over the two halves of the
// last dimension. x [B, H, L, d].
at::Tensor apply_rotary(const at::Tensor& x, const Rotary& rotary);

// q_proj [H d, w], k_proj and v_proj [Hkv d, w], o_proj [w, H d]; no biases.
class LlamaAttentionImpl : public torch::nn::Module {
 public:
  explicit LlamaAttentionImpl(const LlamaConfig& config);

  // x [B, L, w]. `key`/`value` hold the past ([B, Hkv, P, d], or undefined for none) and are
  // replaced by past + this call's rotated keys and values, for a cache. Every query sees all
  // past positions, and a causal triangle among its own L; `mask` [B, L, P + L] (0 or -inf),
  // when given, says instead which past and own positions each row's queries see.
  // `sites` (may be null) fill q/k/v/o_proj of layer `layer`.
  at::Tensor forward(const at::Tensor& x, const Rotary& rotary, at::Tensor& key, at::Tensor& value,
                     nn::DeltaSites* sites = nullptr, int64_t layer = 0,
                     const at::Tensor& mask = {});

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

 private:
  int64_t heads_, kv_heads_, head_dim_;
};
TORCH_MODULE(LlamaAttention);

// down_proj(silu(gate_proj(x)) * up_proj(x)).
class LlamaMlpImpl : public torch::nn::Module {
 public:
  explicit LlamaMlpImpl(const LlamaConfig& config);
  at::Tensor forward(const at::Tensor& x, nn::DeltaSites* sites = nullptr, int64_t layer = 0);

  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(LlamaMlp);

// Pre-norm residual layer: x + attn(norm(x)), then x + mlp(norm(x)).
class LlamaDecoderLayerImpl : public torch::nn::Module {
 public:
  explicit LlamaDecoderLayerImpl(const LlamaConfig& config);
  // `sites`: module-level sites of layer `layer` (token-level ones are the model's business);
  // `mask` as LlamaAttention's.
  at::Tensor forward(const at::Tensor& x, const Rotary& rotary, at::Tensor& key, at::Tensor& value,
                     nn::DeltaSites* sites = nullptr, int64_t layer = 0,
                     const at::Tensor& mask = {});

  LlamaAttention self_attn{nullptr};
  LlamaMlp mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

}  // namespace vlprompt::models::llama
