// LibTorch 2's fused attention (flash / memory-efficient kernels on CUDA, a fused CPU kernel):
// the only code here that needs LibTorch >= 2. attention.cpp includes it there; the LibTorch 1.13
// build compiles it in tests/nn/fused_sdpa_compile_test.cpp against 2.x's declaration, so the
// branch a CUDA build takes is never code that no build compiled.
#pragma once

#include <ATen/ATen.h>

namespace vlprompt::nn::torch2 {

// softmax(q k^T / sqrt(hd) + mask) v, [B, H, L, hd]; `additive_mask` [L, S] or undefined,
// `causal_no_mask` a causal mask when none is given (lets LibTorch pick a fused kernel).
inline at::Tensor fused_sdpa(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                             const at::Tensor& additive_mask, bool causal_no_mask) {
  if (additive_mask.defined()) {
    // A per-row mask [B, L, S] broadcasts over the heads as [B, 1, L, S].
    const at::Tensor mask = additive_mask.dim() == 3 ? additive_mask.unsqueeze(1) : additive_mask;
    return at::scaled_dot_product_attention(q, k, v, mask, /*dropout_p=*/0.0,
                                            /*is_causal=*/false);
  }
  return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0,
                                          /*is_causal=*/causal_no_mask);
}

}  // namespace vlprompt::nn::torch2
