#include "src/engine/train_config.h"

#include <gtest/gtest.h>

#include "src/core/error.h"

namespace vlprompt::engine {
namespace {

core::ResolvedConfig resolve(std::vector<std::string> overrides) {
  core::ConfigSources s;
  add_trainer_defaults(s.defaults);
  s.overrides = std::move(overrides);
  return core::resolve_config(s);
}

TEST(TrainConfig, OverridesReachTheTrainerOptions) {
  const TrainerOptions o =
      make_trainer_options(resolve({"optim.lr=0.01", "optim.warmup_epoch=1", "train.max_epoch=50",
                                    "train.select=best_val", "optim.name=adamw"}),
                           "/tmp/run", at::Device(at::kCPU));
  EXPECT_EQ(o.optimizer().lr(), 0.01);
  EXPECT_EQ(o.optimizer().name(), "adamw");
  EXPECT_EQ(o.optimizer().momentum(), 0.9);  // a default
  EXPECT_EQ(o.schedule().warmup_epochs(), 1);
  EXPECT_EQ(o.max_epoch(), 50);
  EXPECT_EQ(o.select(), Select::kBestVal);
  EXPECT_EQ(o.run_dir(), "/tmp/run");
}

TEST(TrainConfig, BadChoiceAndUnknownKeyNameTheCommandLine) {
  try {
    make_trainer_options(resolve({"train.select=best"}), "/tmp/run", at::Device(at::kCPU));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "command line: key 'train.select' = 'best' must be one of last, best_val (did you "
              "mean 'last'?)");
  }
  EXPECT_THROW(make_trainer_options(resolve({"train.batchsize=4"}), "r", at::Device(at::kCPU)),
               Error);
}

// Regression: these trained without a word.
TEST(TrainConfig, OutOfRangeOptimizerValuesNameTheKeyAndTheRange) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"optim.lr=-1", "key 'optim.lr' is -1; expected a number > 0"},
      {"optim.momentum=5", "key 'optim.momentum' is 5; expected a number in [0, 1)"},
      {"optim.weight_decay=-1", "key 'optim.weight_decay' is -1; expected a number >= 0"},
      {"optim.lr=.nan", "key 'optim.lr' is nan; expected a number > 0"},
      {"optim.warmup_epoch=-2", "key 'optim.warmup_epoch' is -2; expected an integer >= 0"}};
  for (const auto& [override_text, expected] : cases) {
    try {
      make_trainer_options(resolve({override_text}), "r", at::Device(at::kCPU));
      ADD_FAILURE() << override_text << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), "command line: " + expected) << override_text;
    }
  }
}

}  // namespace
}  // namespace vlprompt::engine
