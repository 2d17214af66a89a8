#include "src/engine/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/engine/progress.h"
#include "tests/test_support.h"

namespace vlprompt::engine {
namespace {

std::string fresh(const std::string& name) {
  const std::string dir = ::vlprompt::testing::scratch_dir("checkpoint") + "/" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

Checkpoint sample(int64_t epoch) {
  Checkpoint c;
  c.method = "toy";
  c.epoch = epoch;
  c.method_state = {{"w", at::arange(6, at::kFloat).view({2, 3}) * epoch}};
  c.optimizer_state = {{"step", at::scalar_tensor(epoch * 5, at::kLong)}};
  c.best_state = {{"w", at::ones({2, 3})}};
  c.best_epoch = 1;
  c.best_val_top1 = 1.0 / 3;
  for (int64_t e = 1; e <= epoch; ++e) c.history.push_back({e, 0.1 / e, 2.0 / e, 50, {}, 0.25});
  c.options = {{"batch_size", 8}};
  return c;
}

TEST(Checkpoint, RoundTripsAndKeepsOnlyTheNewestTensorFile) {
  const std::string run = fresh("round_trip");
  save_checkpoint(run, sample(1));
  save_checkpoint(run, sample(2));
  const Checkpoint c = load_checkpoint(run);
  EXPECT_EQ(c.epoch, 2);
  EXPECT_TRUE(at::equal(c.method_state.at("w"), sample(2).method_state.at("w")));
  EXPECT_EQ(c.optimizer_state.at("step").item<int64_t>(), 10);
  EXPECT_TRUE(at::equal(c.best_state.at("w"), at::ones({2, 3})));
  EXPECT_EQ(c.best_val_top1, 1.0 / 3);  // exact through JSON
  ASSERT_EQ(c.history.size(), 2u);
  EXPECT_EQ(c.history[1].lr, 0.05);
  EXPECT_FALSE(c.history[1].val_top1.has_value());
  EXPECT_EQ(c.options["batch_size"], 8);
  EXPECT_FALSE(core::file_exists(checkpoint_dir(run) + "/epoch-0001.safetensors"));
  EXPECT_TRUE(core::file_exists(checkpoint_dir(run) + "/epoch-0002.safetensors"));
}

TEST(Checkpoint, MissingOrBrokenIndexNamesTheFile) {
  const std::string run = fresh("broken");
  const std::string index = checkpoint_dir(run) + "/checkpoint.json";
  try {
    load_checkpoint(run);
    FAIL() << "expected FileError";
  } catch (const FileError& e) {
    EXPECT_EQ(e.path(), index);
  }
  core::atomic_write(index, "{\"format\": 1, \"epoch\": ");
  EXPECT_THROW(load_checkpoint(run), FileError);
  save_checkpoint(run, sample(1));
  std::filesystem::remove(checkpoint_dir(run) + "/epoch-0001.safetensors");
  try {
    load_checkpoint(run);
    FAIL() << "expected FileError";
  } catch (const FileError& e) {
    EXPECT_EQ(e.path(), checkpoint_dir(run) + "/epoch-0001.safetensors");
  }
}

TEST(Progress, DurationsReadAsClockTimes) {
  EXPECT_EQ(format_duration(59), "59s");
  EXPECT_EQ(format_duration(245), "4:05");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(NAN), "?");
  EXPECT_THROW(parse_progress_mode("fancy"), Error);
}

}  // namespace
}  // namespace vlprompt::engine
