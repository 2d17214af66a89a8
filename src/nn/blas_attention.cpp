#include "src/nn/blas_attention.h"

#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <cmath>

#include "src/nn/attention.h"
#include "src/nn/autograd_records.h"
#include "src/nn/blas_gemm.h"

namespace vlprompt::nn {
namespace {

float attention_scale(int64_t head_dim) {
  return static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
}

// Row-major [rows, cols] view of head (b, h) of a [B, H, rows, hd] tensor with a unit last stride.
float* head_data(const at::Tensor& t, int64_t b, int64_t h) {
  return t.data_ptr<float>() + b * t.stride(0) + h * t.stride(1);
}

// Head (b, h) of a contiguous [B, H, L, S] tensor as an [L, S] tensor, without a dispatched op.
at::Tensor head_matrix(const at::Tensor& t, int64_t b, int64_t h) {
  return at::from_blob(head_data(t, b, h), {t.size(2), t.size(3)}, t.options());
}

// Row b of a contiguous per-row mask [B, L, S].
at::Tensor row_mask(const at::Tensor& mask, int64_t b) {
  return at::from_blob(mask.data_ptr<float>() + b * mask.stride(0), {mask.size(1), mask.size(2)},
                       mask.options());
}

// The forward of every (batch, head) task: scores, softmax (into `probs` when given, else a
// scratch buffer), and the weighted sum written into the head's columns of out [B, L, H * hd].
void forward_heads(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                   const at::Tensor& mask, at::Tensor* probs_out, at::Tensor& out) {
  const int64_t batch = q.size(0), heads = q.size(1), length = q.size(2), head_dim = q.size(3);
  const int64_t keys = k.size(2), width = heads * head_dim;
  const float scale = attention_scale(head_dim);
  float* out_data = out.data_ptr<float>();
  // Inside the parallel region ATen ops and the OpenMP OpenBLAS run single-threaded.
  at::parallel_for(0, batch * heads, 1, [&](int64_t begin, int64_t end) {
    at::Tensor scores = at::empty({length, keys}, q.options());
    at::Tensor scratch = probs_out ? at::Tensor() : at::empty({length, keys}, q.options());
    for (int64_t i = begin; i < end; ++i) {
      const int64_t b = i / heads, h = i % heads;
      // scores = scale * q k^T (beta 0: the BLAS ignores what scores held)
      blas_sgemm_row_major(length, keys, head_dim, scale, head_data(q, b, h), q.stride(2),
                           head_data(k, b, h), k.stride(2), /*b_transposed=*/true, 0.0f,
                           scores.data_ptr<float>(), keys);
      if (mask.defined()) scores.add_(mask.dim() == 3 ? row_mask(mask, b) : mask);
      // from_blob, not probs[b][h]: two selects per task were a tenth of a short pass's time.
      at::Tensor probs = probs_out ? head_matrix(*probs_out, b, h) : scratch;
      at::_softmax_out(probs, scores, -1, false);
      // This head's columns of [B, L, H * hd]: row stride H * hd.
      blas_sgemm_row_major(length, head_dim, keys, 1.0f, probs.data_ptr<float>(), keys,
                           head_data(v, b, h), v.stride(2), /*b_transposed=*/false, 0.0f,
                           out_data + (b * length * heads + h) * head_dim, width);
    }
  });
}

// The graph path: the forward above keeping the probabilities, and a backward that runs the
// same per-(batch, head) tasks (LibTorch 1.13's CPU bmm loops over the batch with one
// multi-threaded GEMM and several views per matrix, which is what a prompt's backward through
// a frozen text tower spent most of its non-GEMM time on):
//   dV = P^T dO,  dP = dO V^T,  dS = P * (dP - rowsum(dP * P)),  dQ = s dS K,  dK = s dS^T Q.
class BlasAttention : public torch::autograd::Function<BlasAttention> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& q,
                            const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& mask_or_empty) {
    // An undefined tensor cannot be an input of a recorded op: no mask comes as an empty one.
    const at::Tensor mask = mask_or_empty.numel() ? mask_or_empty : at::Tensor();
    const int64_t batch = q.size(0), heads = q.size(1), length = q.size(2);
    at::Tensor probs = at::empty({batch, heads, length, k.size(2)}, q.options());
    at::Tensor out = at::empty({batch, length, heads * q.size(3)}, q.options());
    forward_heads(q, k, v, mask, &probs, out);
    ctx->save_for_backward({q, k, v, probs});
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &probs = saved[3];
    const at::Tensor grad_out = grads[0].contiguous();
    const int64_t batch = q.size(0), heads = q.size(1), length = q.size(2), head_dim = q.size(3);
    const int64_t keys = k.size(2), width = heads * head_dim;
    const float scale = attention_scale(head_dim);
    at::Tensor dq = at::empty({batch, heads, length, head_dim}, q.options());
    at::Tensor dk = at::empty({batch, heads, keys, head_dim}, q.options());
    at::Tensor dv = at::empty({batch, heads, keys, head_dim}, q.options());
    const float* dout = grad_out.data_ptr<float>();
    at::parallel_for(0, batch * heads, 1, [&](int64_t begin, int64_t end) {
      at::Tensor dp = at::empty({length, keys}, q.options());
      for (int64_t i = begin; i < end; ++i) {
        const int64_t b = i / heads, h = i % heads;
        const float* dout_bh = dout + (b * length * heads + h) * head_dim;  // row stride width
        const at::Tensor p = head_matrix(probs, b, h);
        // dV [S, hd] = P^T [S, L] dO [L, hd]
        blas_sgemm_row_major(true, false, keys, head_dim, length, 1.0f, p.data_ptr<float>(), keys,
                             dout_bh, width, 0.0f, head_data(dv, b, h), head_dim);
        // dP [L, S] = dO [L, hd] V^T
        blas_sgemm_row_major(false, true, length, keys, head_dim, 1.0f, dout_bh, width,
                             head_data(v, b, h), v.stride(2), 0.0f, dp.data_ptr<float>(), keys);
        const at::Tensor ds = at::_softmax_backward_data(dp, p, -1, at::kFloat);
        // dQ [L, hd] = s dS [L, S] K [S, hd]
        blas_sgemm_row_major(false, false, length, head_dim, keys, scale, ds.data_ptr<float>(),
                             keys, head_data(k, b, h), k.stride(2), 0.0f, head_data(dq, b, h),
                             head_dim);
        // dK [S, hd] = s dS^T [S, L] Q [L, hd]
        blas_sgemm_row_major(true, false, keys, head_dim, length, scale, ds.data_ptr<float>(), keys,
                             head_data(q, b, h), q.stride(2), 0.0f, head_data(dk, b, h), head_dim);
      }
    });
    return {dq, dk, dv, at::Tensor()};
  }
};

}  // namespace

bool blas_attention_fits(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  for (const at::Tensor* t : {&q, &k, &v}) {
    if (!t->device().is_cpu() || t->scalar_type() != at::kFloat || t->dim() != 4 ||
        t->stride(3) != 1) {
      return false;
    }
  }
  return has_blas_sgemm();
}

at::Tensor blas_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          const at::Tensor& additive_mask, bool causal_no_mask) {
  at::Tensor mask = additive_mask;
  if (!mask.defined() && causal_no_mask) mask = causal_mask(q.size(2), 0, q.options());
  if (mask.defined()) mask = mask.to(q.scalar_type()).contiguous();
  if (autograd_records({q, k, v})) {
    return BlasAttention::apply(q, k, v, mask.defined() ? mask : at::empty({0}, q.options()));
  }
  at::Tensor out = at::empty({q.size(0), q.size(2), q.size(1) * q.size(3)}, q.options());
  forward_heads(q, k, v, mask, nullptr, out);
  return out;
}

}  // namespace vlprompt::nn
