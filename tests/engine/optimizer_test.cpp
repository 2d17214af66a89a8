#include "src/engine/optimizer.h"

#include <gtest/gtest.h>

#include "src/core/error.h"

namespace vlprompt::engine {
namespace {

at::Tensor param(std::vector<double> values) {
  return at::tensor(values, at::kDouble).requires_grad_();
}

void set_grad(at::Tensor& p, std::vector<double> values) {
  p.mutable_grad() = at::tensor(values, at::kDouble);
}

void expect_values(const at::Tensor& t, std::vector<double> expected, double tol) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(t[i].item<double>(), expected[i], tol) << "element " << i;
  }
}

TEST(SGD, MatchesHandComputedTwoSteps) {
  // d = g + wd p; buf = d (first step), then 0.9 buf + d; p -= lr buf.
  // Step 1: d = [0.51, 0.23] -> p = [0.949, -2.023].
  // Step 2: d = [-0.19051, 0.37977], buf = [0.26849, 0.58677] -> p = [0.922151, -2.081677].
  at::Tensor p = param({1.0, -2.0});
  SGD sgd({p}, SGDOptions().lr(0.1).momentum(0.9).weight_decay(0.01));
  set_grad(p, {0.5, 0.25});
  sgd.step();
  expect_values(p, {0.949, -2.023}, 1e-15);
  set_grad(p, {-0.2, 0.4});
  sgd.step();
  expect_values(p, {0.922151, -2.081677}, 1e-15);
  EXPECT_EQ(sgd.steps(), 2);
  expect_values(sgd.state().at("momentum_buffer.0"), {0.26849, 0.58677}, 1e-15);
}

TEST(AdamW, MatchesPyTorch) {
  // torch.optim.AdamW([p], lr=0.1, weight_decay=0.01), float64, same two gradients (torch 1.13).
  at::Tensor p = param({1.0, -2.0});
  AdamW adamw({p}, AdamWOptions().lr(0.1).weight_decay(0.01));
  set_grad(p, {0.5, 0.25});
  adamw.step();
  expect_values(p, {0.899000002, -2.097999996}, 1e-15);
  set_grad(p, {-0.2, 0.4});
  adamw.step();
  expect_values(p, {0.8635404181145108, -2.1945137759170272}, 1e-15);
}

TEST(SGD, ParametersWithoutGradientAreSkipped) {
  at::Tensor a = param({1.0}), b = param({2.0});
  SGD sgd({a, b}, SGDOptions().lr(0.5).momentum(0.9).weight_decay(0));
  set_grad(a, {1.0});
  sgd.step();
  EXPECT_EQ(a.item<double>(), 0.5);
  EXPECT_EQ(b.item<double>(), 2.0);
  EXPECT_EQ(sgd.state().count("momentum_buffer.1"), 0u);
  sgd.zero_grad();
  EXPECT_FALSE(a.grad().defined());
}

// Saving state after one step and loading it into a fresh optimizer continues identically.
template <class Opt, class Options>
void expect_state_round_trip(Options options) {
  at::Tensor p1 = param({1.0, -2.0}), p2 = param({1.0, -2.0});
  Opt first({p1}, options);
  set_grad(p1, {0.5, 0.25});
  first.step();
  {
    at::NoGradGuard no_grad;
    p2.copy_(p1);
  }
  Opt second({p2}, options);
  second.load_state(first.state());
  set_grad(p1, {-0.2, 0.4});
  set_grad(p2, {-0.2, 0.4});
  first.step();
  second.step();
  EXPECT_TRUE(at::equal(p1, p2));
  EXPECT_EQ(second.steps(), 2);
}

TEST(SGD, StateRoundTripContinuesIdentically) {
  expect_state_round_trip<SGD>(SGDOptions().lr(0.1));
}

TEST(AdamW, StateRoundTripContinuesIdentically) {
  expect_state_round_trip<AdamW>(AdamWOptions().lr(0.1));
}

TEST(Optimizer, LoadStateRejectsWrongShapeAndUnknownNames) {
  at::Tensor p = param({1.0, 2.0});
  SGD sgd({p}, SGDOptions());
  try {
    sgd.load_state({{"step", at::scalar_tensor(1, at::kLong)},
                    {"momentum_buffer.0", at::zeros({3}, at::kDouble)}});
    FAIL() << "expected a shape error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("momentum_buffer.0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[3]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sgd.load_state({{"step", at::scalar_tensor(1, at::kLong)},
                               {"exp_avg.0", at::zeros({2}, at::kDouble)}}),
               Error);
  EXPECT_THROW(make_optimizer(OptimizerOptions().name("adam"), {p}), Error);
  EXPECT_THROW(SGD({at::zeros({2})}, SGDOptions()), Error);  // does not require grad
}

}  // namespace
}  // namespace vlprompt::engine
