#include "src/nn/attention.h"

#include <torch/version.h>

#include <array>
#include <cmath>
#include <limits>
#include <string>

#include "src/core/error.h"
#include "src/nn/autograd_records.h"
#include "src/nn/blas_attention.h"
#include "src/nn/delta_linear.h"

#if TORCH_VERSION_MAJOR >= 2
#include "src/nn/fused_sdpa.h"
#endif

namespace vlprompt::nn {

namespace {

// The composed path every LibTorch has: batched GEMMs and a softmax (unused where LibTorch 2's
// fused kernel takes its place).
[[maybe_unused]] at::Tensor composed_attention(const at::Tensor& q, const at::Tensor& k,
                                               const at::Tensor& v, const at::Tensor& additive_mask,
                                               bool causal_no_mask) {
  at::Tensor mask = additive_mask;
  if (!mask.defined() && causal_no_mask) mask = causal_mask(q.size(2), 0, q.options());
  const int64_t batch = q.size(0), heads = q.size(1), length = q.size(2), head_dim = q.size(3);
  const int64_t keys = k.size(2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  // One batched GEMM over B * H; with a mask, the scale and the mask ride along in baddbmm.
  const at::Tensor kt = k.reshape({batch * heads, keys, head_dim}).transpose(1, 2);
  const at::Tensor v3 = v.reshape({batch * heads, keys, head_dim});
  at::Tensor scores;
  if (mask.defined() && mask.dim() == 3)
    mask = mask.unsqueeze(1)
               .expand({batch, heads, length, keys})
               .reshape({batch * heads, length, keys});
  if (mask.defined()) {
    scores = at::baddbmm(mask, q.reshape({batch * heads, length, head_dim}), kt, /*beta=*/1.0,
                         /*alpha=*/scale);
  } else if (autograd_records({q})) {
    // Not baddbmm with beta = 0: 1.13's CPU kernel then gave NaNs from the uninitialised output
    // it should have ignored.
    scores = at::bmm(q.reshape({batch * heads, length, head_dim}), kt).mul_(scale);
  } else {
    // No graph: scale q while making it contiguous, one pass over q instead of one more over
    // the L x L scores.
    at::Tensor q_scaled = at::empty({batch, heads, length, head_dim}, q.options());
    at::mul_out(q_scaled, q, scale);
    scores = at::bmm(q_scaled.view({batch * heads, length, head_dim}), kt);
  }
  return at::bmm(at::softmax(scores, -1), v3).view({batch, heads, length, head_dim});
}

}  // namespace

at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k,
                                        const at::Tensor& v, const at::Tensor& additive_mask,
                                        bool causal_no_mask) {
#if TORCH_VERSION_MAJOR >= 2
  return torch2::fused_sdpa(q, k, v, additive_mask, causal_no_mask);
#else
  return composed_attention(q, k, v, additive_mask, causal_no_mask);
#endif
}

namespace {

// One query per row without a graph (a decoding step): scores and the weighted values as two
// broadcast reductions. Per-(row, head) GEMMs of one query row each cost more in call and
// packing overhead than in arithmetic (1,280 of them per step at 40 rows x 4 heads x 4 layers).
// A single query sees every key, so the causal flag changes nothing; a mask is [B, 1, S] or
// [1, S].
at::Tensor single_query_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  const at::Tensor& additive_mask) {
  const int64_t batch = q.size(0), heads = q.size(1), head_dim = q.size(3), keys = k.size(2);
  at::Tensor scores = (q * k).sum(-1).mul_(1.0 / std::sqrt(static_cast<double>(head_dim)));
  if (additive_mask.defined())
    scores.add_(additive_mask.view({additive_mask.dim() == 3 ? batch : 1, 1, keys}));
  const at::Tensor weights = scores.softmax(-1).unsqueeze(-1);  // [B, H, S, 1]
  return (weights * v).sum(2).reshape({batch, 1, heads * head_dim});
}

}  // namespace

at::Tensor attention_concat_heads(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  const at::Tensor& additive_mask, bool causal_no_mask) {
  if (q.size(2) == 1 && !autograd_records({q, k, v}) &&
      (!additive_mask.defined() || additive_mask.size(-2) == 1))
    return single_query_attention(q, k, v, additive_mask);
  if (blas_attention_fits(q, k, v)) return blas_attention(q, k, v, additive_mask, causal_no_mask);
  const int64_t batch = q.size(0), length = q.size(2), width = q.size(1) * q.size(3);
  return scaled_dot_product_attention(q, k, v, additive_mask, causal_no_mask)
      .transpose(1, 2)
      .reshape({batch, length, width});
}

at::Tensor causal_mask(int64_t length, int64_t prefix, const at::TensorOptions& options) {
  at::Tensor triangle =
      at::full({length, length}, -std::numeric_limits<float>::infinity(), options).triu_(1);
  if (prefix == 0) return triangle;
  return at::cat({at::zeros({length, prefix}, options), triangle}, 1);
}

SelfAttentionImpl::SelfAttentionImpl(const SelfAttentionOptions& options) : options_(options) {
  const int64_t w = options.width();
  if (options.heads() <= 0 || w % options.heads() != 0) {
    throw Error("attention: width " + std::to_string(w) + " is not divisible by heads " +
                std::to_string(options.heads()));
  }
  in_proj_weight = register_parameter("in_proj_weight", at::zeros({3 * w, w}));
  in_proj_bias = register_parameter("in_proj_bias", at::zeros({3 * w}));
  out_proj = register_module("out_proj", torch::nn::Linear(w, w));
}

std::array<at::Tensor, 3> SelfAttentionImpl::project(const at::Tensor& x, DeltaSites* sites,
                                                     int64_t layer) {
  const int64_t batch = x.size(0), length = x.size(1), width = options_.width();
  const int64_t heads = options_.heads(), head_dim = width / heads;
  const auto dq = linear_delta(sites, layer, LinearSite::kQ);
  const auto dk = linear_delta(sites, layer, LinearSite::kK);
  const auto dv = linear_delta(sites, layer, LinearSite::kV);
  if (dq || dk || dv) {
    // A delta on any of q, k, v: each row block of in_proj on its own, with its own delta.
    auto one = [&](int64_t i, const std::optional<LinearDelta>& delta) {
      return apply_linear(x, in_proj_weight.narrow(0, i * width, width),
                          in_proj_bias.narrow(0, i * width, width), delta)
          .view({batch, length, heads, head_dim})
          .transpose(1, 2);
    };
    return {one(0, dq), one(1, dk), one(2, dv)};
  }
  // [B, L, 3w] -> [3, B, H, L, hd]: one GEMM for q, k and v.
  at::Tensor qkv = at::linear(x, in_proj_weight, in_proj_bias)
                       .view({batch, length, 3, heads, head_dim})
                       .permute({2, 0, 3, 1, 4});
  return {qkv[0], qkv[1], qkv[2]};
}

namespace {
// [B, H, L, hd] -> [B, L, H * hd], the projected space a KVPrefix holds.
at::Tensor merge_heads(const at::Tensor& t) {
  return t.transpose(1, 2).reshape({t.size(0), t.size(2), t.size(1) * t.size(3)});
}
}  // namespace

KVPrefix SelfAttentionImpl::keys_values(const at::Tensor& x, DeltaSites* sites, int64_t layer) {
  auto [q, k, v] = project(x, sites, layer);
  return {merge_heads(k), merge_heads(v)};
}

at::Tensor SelfAttentionImpl::forward(const at::Tensor& packed_or_x,
                                      const std::optional<KVPrefix>& prefix, bool causal,
                                      DeltaSites* sites, int64_t layer, KVPrefix* keys_values_out,
                                      const RowPacking* packing) {
  const at::Tensor x = packing ? packing->unpack(packed_or_x) : packed_or_x;
  const int64_t batch = x.size(0), length = x.size(1), width = options_.width();
  const int64_t heads = options_.heads(), head_dim = width / heads;
  auto [q, k, v] = project(x, sites, layer);
  if (keys_values_out) *keys_values_out = {merge_heads(k), merge_heads(v)};
  int64_t prefix_length = 0;
  if (prefix) {
    auto split = [&](const at::Tensor& t, const char* what) {
      if (t.dim() != 3 || t.size(0) != batch || t.size(2) != width) {
        throw Error(std::string("kv_prefix ") + what + ": expected [" + std::to_string(batch) +
                    ", P, " + std::to_string(width) + "], got " + c10::str(t.sizes()));
      }
      return t.reshape({batch, t.size(1), heads, head_dim}).transpose(1, 2);
    };
    at::Tensor pk = split(prefix->key, "key"), pv = split(prefix->value, "value");
    if (pk.size(2) != pv.size(2)) {
      throw Error("kv_prefix: key and value lengths differ (" + std::to_string(pk.size(2)) +
                  " vs " + std::to_string(pv.size(2)) + ")");
    }
    prefix_length = pk.size(2);
    k = at::cat({pk.to(k.dtype()), k}, 2);
    v = at::cat({pv.to(v.dtype()), v}, 2);
  }
  at::Tensor mask;
  if (causal && prefix_length > 0) mask = causal_mask(length, prefix_length, x.options());
  const at::Tensor out = attention_concat_heads(q, k, v, mask, causal && prefix_length == 0);
  // at::linear, not Linear::forward: the latter skips the fused GEMM + bias for 3-d input.
  return apply_linear(packing ? packing->pack(out) : out, out_proj->weight, out_proj->bias,
                      linear_delta(sites, layer, LinearSite::kOut));
}

}  // namespace vlprompt::nn
