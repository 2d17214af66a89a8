#include "src/engine/evaluator.h"

#include <gtest/gtest.h>

#include "src/core/error.h"

namespace vlprompt::engine {
namespace {

TEST(Evaluator, AccumulatesTop1Top5PerClassAndConfusion) {
  Evaluator ev(3);
  // Sample 0: true 0, predicted 0. Sample 1: true 1, predicted 2. Sample 2: true 2, predicted 2.
  ev.process(at::tensor({5.f, 1.f, 0.f, 0.f, 1.f, 3.f}).view({2, 3}),
             at::tensor({0, 1}, at::kLong));
  ev.process(at::tensor({0.f, 1.f, 3.f}).view({1, 3}), at::tensor({2}, at::kLong));
  const ClassificationMetrics m = ev.evaluate();
  EXPECT_EQ(m.n, 3);
  EXPECT_NEAR(m.top1, 200.0 / 3, 1e-9);
  EXPECT_NEAR(m.top5, 100.0, 1e-9);  // k clipped to the 3 classes
  EXPECT_EQ(m.per_class, (std::vector<double>{100, 0, 100}));
  EXPECT_NEAR(m.macro, 200.0 / 3, 1e-9);
  // F1 by hand: class 0 = 1, class 1 (never predicted) = 0, class 2 = 2*1/(1+2); mean of three.
  EXPECT_NEAR(m.macro_f1, 100.0 * (1.0 + 0.0 + 2.0 / 3) / 3, 1e-9);
  EXPECT_EQ(m.confusion[1][2], 1);
  EXPECT_EQ(m.confusion[1][1], 0);
  const auto j = m.to_json({"a", "b", "c"});
  EXPECT_EQ(j["per_class"]["b"], 0.0);
  ev.reset();
  EXPECT_EQ(ev.evaluate().n, 0);
}

TEST(Evaluator, RejectsMismatchedShapes) {
  Evaluator ev(4);
  EXPECT_THROW(ev.process(at::zeros({2, 3}), at::zeros({2}, at::kLong)), Error);
}

}  // namespace
}  // namespace vlprompt::engine
