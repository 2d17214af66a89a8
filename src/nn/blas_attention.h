// Attention on the CPU as one task per (batch, head) on direct BLAS calls: each task's scores,
// softmax and weighted sum stay in its core's cache, q, k and v are read in place (any strides
// with a unit last stride, e.g. views into a fused qkv projection) and the heads are written
// concatenated. With a graph it is one recorded op whose backward runs the same tasks. This
// replaces layout copies and thousands of small multi-threaded GEMMs (LibTorch 1.13's CPU bmm
// loops over the batch), forward and backward.
#pragma once

#include <ATen/ATen.h>

namespace vlprompt::nn {

// Whether blas_attention can run these: CPU float32 [B, H, *, hd] with unit last strides, and a
// BLAS sgemm_ in the process.
bool blas_attention_fits(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

// softmax(q k^T / sqrt(hd) + mask) v for q [B, H, L, hd], k and v [B, H, S, hd] -> [B, L, H * hd].
// `additive_mask` [L, S] or per row [B, L, S] (0 or -inf), or undefined; `causal_no_mask` asks
// for a causal one.
at::Tensor blas_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          const at::Tensor& additive_mask, bool causal_no_mask);

}  // namespace vlprompt::nn
