// The class-incremental numbers against values worked by hand from the L2P code's formulas
// (engine.py evaluate_till_now), and the logit mask.
#include "src/engine/continual_metrics.h"

#include <gtest/gtest.h>

#include <limits>

#include "src/core/error.h"
#include "src/engine/task_mask.h"

namespace vlprompt::engine {
namespace {

// acc[i][t]: task 1 90 -> 70 -> 60, task 2 80 -> 75, task 3 85; by hand:
//   average  [90, (70+80)/2 = 75, (60+75+85)/3 = 73.333...]
//   forget   [-, 90-70 = 20, ((90-60) + (80-75))/2 = 17.5]
//   backward [-, 70-90 = -20, ((60-90) + (75-80))/2 = -17.5]
const std::vector<std::vector<double>> kColumns = {{90}, {70, 80}, {60, 75, 85}};

TEST(ContinualMetrics, AverageForgettingAndBackwardTransferByHand) {
  const ContinualMetrics m = continual_metrics(kColumns);
  ASSERT_EQ(m.average_accuracy.size(), 3u);
  EXPECT_DOUBLE_EQ(m.average_accuracy[0], 90);
  EXPECT_DOUBLE_EQ(m.average_accuracy[1], 75);
  EXPECT_NEAR(m.average_accuracy[2], 220.0 / 3, 1e-12);
  EXPECT_FALSE(m.forgetting[0].has_value());
  EXPECT_DOUBLE_EQ(*m.forgetting[1], 20);
  EXPECT_DOUBLE_EQ(*m.forgetting[2], 17.5);
  EXPECT_DOUBLE_EQ(*m.backward_transfer[1], -20);
  EXPECT_DOUBLE_EQ(*m.backward_transfer[2], -17.5);
}

// The best accuracy a task ever had counts, not its first: a task that improved and then fell
// back forgets from its peak; one that only improved forgets nothing.
TEST(ContinualMetrics, ForgettingIsFromTheBestEarlierAccuracy) {
  const ContinualMetrics m = continual_metrics({{50}, {70, 60}, {65, 66, 40}});
  EXPECT_DOUBLE_EQ(*m.forgetting[1], 0);              // 50 -> 70: improved
  EXPECT_DOUBLE_EQ(*m.forgetting[2], (5.0 + 0) / 2);  // task 1 peak 70 -> 65; task 2 60 -> 66
  EXPECT_DOUBLE_EQ(*m.backward_transfer[2], (15.0 + 6) / 2);
}

TEST(ContinualMetrics, JsonHasTheMatrixWithNullsAboveTheDiagonal) {
  const nlohmann::json j = continual_json(kColumns);
  EXPECT_EQ(j["accuracy_matrix"][0], (nlohmann::json{90.0, 70.0, 60.0}));
  EXPECT_TRUE(j["accuracy_matrix"][2][0].is_null());
  EXPECT_EQ(j["accuracy_matrix"][2][2], 85.0);
  EXPECT_TRUE(j["forgetting"][0].is_null());
  EXPECT_EQ(j["forgetting"][2], 17.5);
}

TEST(ContinualMetrics, AColumnOfTheWrongLengthIsAnError) {
  try {
    continual_metrics({{90}, {70}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("after task 2 there are 1 accuracies, expected 2"),
              std::string::npos)
        << e.what();
  }
}

TEST(TaskMask, MaskedColumnsAreMinusInfinityAndGetNoGradient) {
  const at::Tensor logits = at::randn({3, 5}).requires_grad_(true);
  const at::Tensor masked = mask_logits(logits, {1, 3});
  EXPECT_TRUE(masked.select(1, 0).isinf().all().item<bool>());
  EXPECT_TRUE(at::equal(masked.select(1, 3), logits.select(1, 3)));
  at::cross_entropy_loss(masked, at::tensor(std::vector<int64_t>{1, 3, 3}, at::kLong)).backward();
  const at::Tensor g = logits.grad();
  EXPECT_EQ(g.index_select(1, at::tensor(std::vector<int64_t>{0, 2, 4}, at::kLong))
                .abs()
                .max()
                .item<double>(),
            0.0);
  EXPECT_GT(g.select(1, 1).abs().max().item<double>(), 0.0);
  EXPECT_THROW(mask_logits(logits, {5}), Error);
  EXPECT_THROW(mask_logits(logits, {}), Error);
}

}  // namespace
}  // namespace vlprompt::engine
