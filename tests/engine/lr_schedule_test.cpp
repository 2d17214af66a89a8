#include "src/engine/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>

#include "src/core/error.h"

namespace vlprompt::engine {
namespace {

double closed_form(double base, int64_t t, int64_t T) {
  return base * (1 + std::cos(std::acos(-1.0) * t / T)) / 2;
}

TEST(LrSchedule, CosineWithoutWarmupMatchesClosedForm) {
  const LrSchedule s(ScheduleOptions(), 0.002, 10);
  EXPECT_EQ(s.lr_at(0), 0.002);
  EXPECT_NEAR(s.lr_at(5), 0.001, 1e-18);  // half way: cos(pi/2) = 0
  for (int64_t e = 0; e < 10; ++e) EXPECT_NEAR(s.lr_at(e), closed_form(0.002, e, 10), 1e-18);
}

TEST(LrSchedule, ConstantWarmupThenCosineRestartsItsCount) {
  // Dassl: ConstantWarmupScheduler(CosineAnnealingLR(T_max=10), warmup_epoch=2, cons_lr=1e-5).
  const LrSchedule s(ScheduleOptions().warmup_epochs(2).warmup_lr(1e-5), 0.002, 10);
  EXPECT_EQ(s.lr_at(0), 1e-5);
  EXPECT_EQ(s.lr_at(1), 1e-5);
  EXPECT_EQ(s.lr_at(2), 0.002);  // the cosine's t = 0
  for (int64_t e = 2; e < 10; ++e) EXPECT_NEAR(s.lr_at(e), closed_form(0.002, e - 2, 10), 1e-18);
}

TEST(LrSchedule, BitIdenticalToPyTorchRecursion) {
  // Printed by torch 1.13: CosineAnnealingLR(SGD(lr=0.002), 10.0) behind Dassl's constant
  // warm-up of 1 epoch at 1e-5. The recursion differs from the closed form in the last bits.
  const LrSchedule s(ScheduleOptions().warmup_epochs(1), 0.002, 10);
  EXPECT_EQ(s.lr_at(3), 0.0018090169943749473);
  EXPECT_EQ(s.lr_at(8), 0.000412214747707527);
  EXPECT_EQ(s.lr_at(9), 0.00019098300562505268);
}

TEST(LrSchedule, ConstantAndErrors) {
  const LrSchedule s(ScheduleOptions().name("constant").warmup_epochs(1), 0.01, 5);
  EXPECT_EQ(s.lr_at(0), 1e-5);
  EXPECT_EQ(s.lr_at(4), 0.01);
  EXPECT_THROW(LrSchedule(ScheduleOptions().name("step"), 0.01, 5), Error);
  EXPECT_THROW(LrSchedule(ScheduleOptions(), 0.01, 0), Error);
  EXPECT_THROW(s.lr_at(5), Error);
}

}  // namespace
}  // namespace vlprompt::engine
