// How a backbone applies the module-level sites (delta_sites.h): one definition of "a projection
// or a norm with its deltas", shared by CLIP's towers and the LLaMA decoder, and by `merge`, which
// folds the same terms into the weights.
#pragma once

#include <ATen/ATen.h>

#include <optional>

#include "src/nn/delta_sites.h"

namespace vlprompt::nn {

// x [..., in] -> [..., out]: the projection with `delta`'s terms (LinearDelta's formula); no
// delta is exactly at::linear(x, weight, bias). `bias` may be undefined (LLaMA).
at::Tensor apply_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                        const std::optional<LinearDelta>& delta);

// The weight and bias a projection has once `delta` is folded in, with no dropout: for any x,
// at::linear(x, merged.weight, merged.bias) == apply_linear(x, weight, bias, delta) up to
// rounding. `bias` may be undefined; the merged bias is undefined only when no term makes one.
struct MergedLinear {
  at::Tensor weight;
  at::Tensor bias;
};
MergedLinear merge_linear(const at::Tensor& weight, const at::Tensor& bias,
                          const std::optional<LinearDelta>& delta);

// The norm's effective weight and bias under `delta` (bias may stay undefined: RMSNorm).
struct NormAffine {
  at::Tensor weight;
  at::Tensor bias;
};
NormAffine norm_affine(const at::Tensor& weight, const at::Tensor& bias,
                       const std::optional<NormDelta>& delta);

// LayerNorm over the last dimension with `delta` applied; eps as the module's.
at::Tensor apply_layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                            double eps, const std::optional<NormDelta>& delta);

// Two deltas' terms on one projection or norm, as one (several members of a stack): offsets add,
// scales multiply, low-rank updates accumulate. Two replacements of one weight are an Error.
std::optional<LinearDelta> combine(std::optional<LinearDelta> a,
                                   const std::optional<LinearDelta>& b);
std::optional<NormDelta> combine(std::optional<NormDelta> a, const std::optional<NormDelta>& b);

// Site 2 under its rule, for both backbones' layer loops: sites->layer_tokens(layer, x), where only
// layer 0 may change the sequence length (an Error naming the layer and both lengths).
at::Tensor apply_layer_tokens(DeltaSites* sites, int64_t layer, const at::Tensor& x);

// The module-level sites of `sites` at `layer`, or nullopt when there are none (no sites, or none
// filled): what a block asks once per projection.
inline std::optional<LinearDelta> linear_delta(DeltaSites* sites, int64_t layer, LinearSite site) {
  return sites ? sites->linear(layer, site) : std::nullopt;
}
inline std::optional<NormDelta> norm_delta(DeltaSites* sites, int64_t layer, NormSite site) {
  return sites ? sites->norm(layer, site) : std::nullopt;
}

}  // namespace vlprompt::nn
