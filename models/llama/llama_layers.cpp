#include "models/llama/llama_layers.h"

#include <ATen/ops/silu.h>

#include "src/nn/attention.h"
#include "src/nn/delta_linear.h"

namespace vlprompt::models::llama {

RMSNormImpl::RMSNormImpl(int64_t width, double eps) : eps_(eps) {
  weight = register_parameter("weight", at::ones({width}));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x, const std::optional<nn::NormDelta>& delta) {
  const at::Tensor x32 = x.to(at::kFloat);
  const at::Tensor normed = x32 * at::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  if (!delta) return weight * normed.to(x.scalar_type());
  const nn::NormAffine affine = nn::norm_affine(weight, at::Tensor(), delta);
  const at::Tensor out = affine.weight * normed.to(x.scalar_type());
  return affine.bias.defined() ? out + affine.bias : out;
}

Rotary rotary_tables(int64_t head_dim, double theta, int64_t start, int64_t length) {
  const Rotary rows =
      rotary_tables_at(head_dim, theta, at::arange(start, start + length, at::kLong).unsqueeze(0));
  return {rows.cos.view({length, head_dim}), rows.sin.view({length, head_dim})};
}

Rotary rotary_tables_at(int64_t head_dim, double theta, const at::Tensor& positions) {
  const auto f32 = at::TensorOptions(positions.device()).dtype(at::kFloat);
  const at::Tensor exponents = at::arange(0, head_dim, 2, f32) / head_dim;
  const at::Tensor inv_freq = 1.0 / at::pow(theta, exponents);
  const at::Tensor freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq;  // [N, L, d / 2]
  const at::Tensor angles = at::cat({freqs, freqs}, -1).unsqueeze(1);
  return {angles.cos(), angles.sin()};
}

at::Tensor apply_rotary(const at::Tensor& x, const Rotary& rotary) {
  const int64_t half = x.size(-1) / 2;
  const at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * rotary.cos + rotated * rotary.sin;
}

namespace llama_layers_detail {
torch::nn::Linear bias_free(int64_t in, int64_t out) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
}
}  // namespace llama_layers_detail
using llama_layers_detail::bias_free;

LlamaAttentionImpl::LlamaAttentionImpl(const LlamaConfig& config)
    : heads_(config.num_attention_heads),
      kv_heads_(config.num_key_value_heads),
      head_dim_(config.head_dim()) {
  const int64_t w = config.hidden_size;
  q_proj = register_module("q_proj", bias_free(w, heads_ * head_dim_));
  k_proj = register_module("k_proj", bias_free(w, kv_heads_ * head_dim_));
  v_proj = register_module("v_proj", bias_free(w, kv_heads_ * head_dim_));
  o_proj = register_module("o_proj", bias_free(heads_ * head_dim_, w));
}

at::Tensor LlamaAttentionImpl::forward(const at::Tensor& x, const Rotary& rotary, at::Tensor& key,
                                       at::Tensor& value, nn::DeltaSites* sites, int64_t layer,
                                       const at::Tensor& given_mask) {
  const int64_t batch = x.size(0), length = x.size(1);
  auto split = [&](const at::Tensor& t, int64_t heads) {
    return t.view({batch, length, heads, head_dim_}).transpose(1, 2);
  };
  auto project = [&](torch::nn::Linear& proj, nn::LinearSite site) {
    return nn::apply_linear(x, proj->weight, at::Tensor(), nn::linear_delta(sites, layer, site));
  };
  const at::Tensor q = apply_rotary(split(project(q_proj, nn::LinearSite::kQ), heads_), rotary);
  const at::Tensor k = apply_rotary(split(project(k_proj, nn::LinearSite::kK), kv_heads_), rotary);
  const at::Tensor v = split(project(v_proj, nn::LinearSite::kV), kv_heads_);
  const int64_t past = key.defined() ? key.size(2) : 0;
  key = past ? at::cat({key, k}, 2) : k;
  value = past ? at::cat({value, v}, 2) : v;
  // Grouped-query attention: each key/value head serves heads / kv_heads consecutive queries.
  const int64_t groups = heads_ / kv_heads_;
  const at::Tensor k_all = groups == 1 ? key.contiguous() : key.repeat_interleave(groups, 1);
  const at::Tensor v_all = groups == 1 ? value.contiguous() : value.repeat_interleave(groups, 1);
  const at::Tensor mask =
      given_mask.defined() ? given_mask : nn::causal_mask(length, past, x.options());
  const at::Tensor out = nn::attention_concat_heads(q.contiguous(), k_all, v_all, mask);
  return nn::apply_linear(out, o_proj->weight, at::Tensor(),
                          nn::linear_delta(sites, layer, nn::LinearSite::kOut));
}

LlamaMlpImpl::LlamaMlpImpl(const LlamaConfig& config) {
  gate_proj = register_module("gate_proj", bias_free(config.hidden_size, config.intermediate_size));
  up_proj = register_module("up_proj", bias_free(config.hidden_size, config.intermediate_size));
  down_proj = register_module("down_proj", bias_free(config.intermediate_size, config.hidden_size));
}

at::Tensor LlamaMlpImpl::forward(const at::Tensor& x, nn::DeltaSites* sites, int64_t layer) {
  auto project = [&](const at::Tensor& in, torch::nn::Linear& proj, nn::LinearSite site) {
    return nn::apply_linear(in, proj->weight, at::Tensor(), nn::linear_delta(sites, layer, site));
  };
  const at::Tensor hidden = at::silu(project(x, gate_proj, nn::LinearSite::kGate)) *
                            project(x, up_proj, nn::LinearSite::kUp);
  return project(hidden, down_proj, nn::LinearSite::kDown);
}

LlamaDecoderLayerImpl::LlamaDecoderLayerImpl(const LlamaConfig& config) {
  self_attn = register_module("self_attn", LlamaAttention(config));
  mlp = register_module("mlp", LlamaMlp(config));
  input_layernorm =
      register_module("input_layernorm", RMSNorm(config.hidden_size, config.rms_norm_eps));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RMSNorm(config.hidden_size, config.rms_norm_eps));
}

at::Tensor LlamaDecoderLayerImpl::forward(const at::Tensor& x, const Rotary& rotary,
                                          at::Tensor& key, at::Tensor& value, nn::DeltaSites* sites,
                                          int64_t layer, const at::Tensor& mask) {
  if (!sites) {
    const at::Tensor h =
        x + self_attn->forward(input_layernorm->forward(x), rotary, key, value, nullptr, 0, mask);
    return h + mlp->forward(post_attention_layernorm->forward(h));
  }
  const at::Tensor a = self_attn->forward(
      input_layernorm->forward(x, nn::norm_delta(sites, layer, nn::NormSite::kAttention)), rotary,
      key, value, sites, layer, mask);
  const at::Tensor h = x + sites->sublayer_output(layer, nn::Sublayer::kAttention, a);
  const at::Tensor m = mlp->forward(
      post_attention_layernorm->forward(h, nn::norm_delta(sites, layer, nn::NormSite::kMlp)), sites,
      layer);
  return h + sites->sublayer_output(layer, nn::Sublayer::kMlp, m);
}

}  // namespace vlprompt::models::llama
