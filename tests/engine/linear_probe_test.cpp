#include "src/engine/linear_probe.h"

#include <gtest/gtest.h>

#include "src/core/error.h"

namespace vlprompt::engine {
namespace {

// Three Gaussian blobs in 8-D: a probe must separate them; heavy L2 must do worse on val.
void blobs(int64_t n, uint64_t seed, at::Tensor* x, at::Tensor* y) {
  at::manual_seed(seed);
  const at::Tensor centers = at::eye(8).slice(0, 0, 3) * 3;
  *y = at::arange(n, at::kLong) % 3;
  *x = centers.index_select(0, *y) + 0.7 * at::randn({n, 8}) + at::ones({8});
}

TEST(LinearProbe, SeparatesBlobsAndPicksL2OnVal) {
  at::Tensor xt, yt, xv, yv;
  blobs(60, 1, &xt, &yt);
  blobs(30, 2, &xv, &yv);
  const LinearProbe p = search_linear_probe(xt, yt, xv, yv, 3, {1e-3, 1e6});
  ASSERT_EQ(p.search.size(), 2u);
  const double acc = p.logits(xv).argmax(1).eq(yv).to(at::kFloat).mean().item<float>();
  EXPECT_GT(acc, 0.9);
  EXPECT_EQ(p.l2, 1e-3);  // 1e6 squashes the weights to zero: val accuracy must reject it
  EXPECT_EQ(p.weight.sizes(), at::IntArrayRef({3, 8}));
}

TEST(LinearProbe, RefusesEmptyVal) {
  at::Tensor xt, yt;
  blobs(30, 1, &xt, &yt);
  EXPECT_THROW(search_linear_probe(xt, yt, at::zeros({0, 8}), at::zeros({0}, at::kLong), 3), Error);
}

}  // namespace
}  // namespace vlprompt::engine
