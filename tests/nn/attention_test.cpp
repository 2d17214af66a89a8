// The inference attention (one (batch, head) task per core, direct BLAS calls on interleaved
// layouts) and the one-pass QuickGELU MLP against the autograd paths, which follow the
// definitions op by op: same numbers with masks, prefixes and strided q/k/v views.
#include "src/nn/attention.h"

#include <gtest/gtest.h>

#include "src/nn/blas_attention.h"
#include "src/nn/blas_gemm.h"
#include "src/nn/transformer.h"

namespace vlprompt::nn {
namespace {

TEST(BlasGemm, RowMajorWithLeadingDimensionsMatchesMatmul) {
  if (!has_blas_sgemm()) GTEST_SKIP() << "this LibTorch exports no sgemm_";
  at::manual_seed(0);
  // A [5, 3] and B [3, 4] inside wider buffers: row strides 7 and 9; C written into [5, 11].
  const at::Tensor abuf = at::randn({5, 7}), bbuf = at::randn({3, 9}), btbuf = at::randn({4, 6});
  const at::Tensor a = abuf.narrow(1, 2, 3), b = bbuf.narrow(1, 1, 4), bt = btbuf.narrow(1, 0, 3);
  at::Tensor cbuf = at::full({5, 11}, 7.0f);
  blas_sgemm_row_major(5, 4, 3, 2.0f, a.data_ptr<float>(), 7, b.data_ptr<float>(), 9, false, 0.0f,
                       cbuf.data_ptr<float>() + 3, 11);
  EXPECT_TRUE(at::allclose(cbuf.narrow(1, 3, 4), 2.0 * at::mm(a, b), 1e-5, 1e-5));
  EXPECT_TRUE(at::all(cbuf.narrow(1, 0, 3) == 7.0f).item<bool>());  // nothing outside C touched
  blas_sgemm_row_major(5, 4, 3, 1.0f, a.data_ptr<float>(), 7, bt.data_ptr<float>(), 6, true, 0.0f,
                       cbuf.data_ptr<float>() + 3, 11);
  EXPECT_TRUE(at::allclose(cbuf.narrow(1, 3, 4), at::mm(a, bt.t()), 1e-5, 1e-5));
}

// q, k, v as the fused in-projection leaves them: views into [B, L, 3, H, hd].
struct Qkv {
  at::Tensor q, k, v;
};
Qkv interleaved(int64_t b, int64_t l, int64_t h, int64_t hd) {
  const at::Tensor qkv = at::randn({b, l, 3, h, hd}).permute({2, 0, 3, 1, 4});
  return {qkv[0], qkv[1], qkv[2]};
}

at::Tensor graph_path(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                      const at::Tensor& mask, bool causal) {
  const int64_t b = q.size(0), l = q.size(2), w = q.size(1) * q.size(3);
  return scaled_dot_product_attention(q, k, v, mask, causal).transpose(1, 2).reshape({b, l, w});
}

TEST(InferenceAttention, MatchesTheGraphPathUnmaskedCausalAndWithAPrefix) {
  at::NoGradGuard no_grad;
  at::manual_seed(1);
  const Qkv t = interleaved(3, 9, 4, 8);
  EXPECT_TRUE(at::allclose(attention_concat_heads(t.q, t.k, t.v, {}, false),
                           graph_path(t.q, t.k, t.v, {}, false), 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(attention_concat_heads(t.q, t.k, t.v, {}, true),
                           graph_path(t.q, t.k, t.v, {}, true), 1e-5, 1e-5));
  // Two prefix keys/values visible to every query, causal among the nine real tokens.
  const at::Tensor k = at::cat({at::randn({3, 4, 2, 8}), t.k}, 2);
  const at::Tensor v = at::cat({at::randn({3, 4, 2, 8}), t.v}, 2);
  const at::Tensor mask = causal_mask(9, 2, t.q.options());
  const at::Tensor fast = attention_concat_heads(t.q, k, v, mask, false);
  EXPECT_TRUE(at::allclose(fast, graph_path(t.q, k, v, mask, false), 1e-5, 1e-5));
  // A causal row sees only earlier tokens: changing the last value moves only the last row.
  at::Tensor v2 = t.v.clone();
  v2.select(2, 8).add_(1.0);
  const at::Tensor a = attention_concat_heads(t.q, t.k, t.v, {}, true);
  const at::Tensor b = attention_concat_heads(t.q, t.k, v2, {}, true);
  EXPECT_TRUE(at::equal(a.narrow(1, 0, 8), b.narrow(1, 0, 8)));
  EXPECT_FALSE(at::allclose(a.narrow(1, 8, 1), b.narrow(1, 8, 1)));
}

// The per-(batch, head) BLAS attention's own backward against ATen's autograd through the composed
// path: gradients of q, k and v (as views into one fused projection) for no mask, a causal one,
// and a prefix of keys/values visible to every query.
TEST(BlasAttention, BackwardMatchesAutogradOfTheComposedPath) {
  if (!has_blas_sgemm()) GTEST_SKIP() << "this LibTorch exports no sgemm_";
  at::manual_seed(3);
  const at::Tensor base = at::randn({2, 7, 3, 4, 8});
  const at::Tensor prefix_base = at::randn({2, 2, 2, 4, 8});
  const at::Tensor weights = at::randn({2, 7, 32});
  struct Case {
    const char* name;
    bool causal, prefix;
  };
  for (const Case c :
       {Case{"plain", false, false}, Case{"causal", true, false}, Case{"prefix", true, true}}) {
    SCOPED_TRACE(c.name);
    std::vector<at::Tensor> grads[2];
    for (int path = 0; path < 2; ++path) {
      const at::Tensor qkv_leaf = base.clone().requires_grad_();
      const at::Tensor prefix_leaf = prefix_base.clone().requires_grad_();
      const at::Tensor qkv = qkv_leaf.permute({2, 0, 3, 1, 4});
      at::Tensor q = qkv[0], k = qkv[1], v = qkv[2], mask;
      if (c.prefix) {
        const at::Tensor p = prefix_leaf.permute({2, 0, 3, 1, 4});
        k = at::cat({p[0], k}, 2);
        v = at::cat({p[1], v}, 2);
        mask = causal_mask(7, 2, q.options());
      }
      ASSERT_TRUE(path == 1 || blas_attention_fits(q, k, v));
      const at::Tensor out = path == 0
                                 ? attention_concat_heads(q, k, v, mask, c.causal && !c.prefix)
                                 : graph_path(q, k, v, mask, c.causal && !c.prefix);
      (out * weights).sum().backward();
      grads[path] = {out.detach(), qkv_leaf.grad()};
      if (c.prefix) grads[path].push_back(prefix_leaf.grad());
    }
    for (size_t i = 0; i < grads[0].size(); ++i) {
      EXPECT_TRUE(at::allclose(grads[0][i], grads[1][i], 1e-4, 1e-5)) << "tensor " << i;
      EXPECT_GT(grads[1][i].abs().max().item<double>(), 1e-3) << "tensor " << i;
    }
  }
}

TEST(InferenceMlp, OnePassQuickGeluMatchesTheDefinition) {
  at::manual_seed(2);
  Mlp mlp(16);
  for (auto& p : mlp->parameters()) {
    at::NoGradGuard ng;
    p.copy_(at::randn_like(p) * 0.5);
  }
  const at::Tensor x = at::randn({2, 5, 16});
  const at::Tensor h = at::linear(x, mlp->c_fc->weight, mlp->c_fc->bias);
  const at::Tensor expected =
      at::linear(h * at::sigmoid(1.702 * h), mlp->c_proj->weight, mlp->c_proj->bias);
  at::Tensor fast;
  {
    at::NoGradGuard ng;
    fast = mlp->forward(x);
  }
  EXPECT_TRUE(at::allclose(fast, expected, 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(mlp->forward(x), expected, 1e-5, 1e-5));  // the graph path

  // The gradient a prompt gets through the frozen MLP equals the literal formula's.
  const at::Tensor xg = x.clone().requires_grad_();
  const at::Tensor w = at::randn({2, 5, 16});
  (mlp->forward(xg) * w).sum().backward();
  const at::Tensor xr = x.clone().requires_grad_();
  const at::Tensor hr = at::linear(xr, mlp->c_fc->weight, mlp->c_fc->bias);
  (at::linear(hr * at::sigmoid(1.702 * hr), mlp->c_proj->weight, mlp->c_proj->bias) * w)
      .sum()
      .backward();
  EXPECT_TRUE(at::allclose(xg.grad(), xr.grad(), 1e-4, 1e-5));
}

}  // namespace
}  // namespace vlprompt::nn
