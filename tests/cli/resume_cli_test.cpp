// A run killed with SIGKILL (or stopped with Ctrl-C) mid-training and continued with
// `vlprompt train --resume` ends with exactly the delta of the same run left alone: the checkpoint
// carries everything the trajectory depends on (method and optimizer state, epoch, shuffling and
// augmentation draws).
#include <gtest/gtest.h>
#include <signal.h>

#include <sstream>

#include "src/core/safetensors.h"
#include "tests/cli/cli_test_support.h"
#include "tests/cli/train_stop.h"

namespace vlprompt::testing {
namespace {

std::vector<double> losses(const std::string& run) { return losses_in(run + "/metrics.jsonl"); }

void expect_resume_reproduces(const std::string& name, const std::string& extra, int sig) {
  const std::string dir = scratch_dir("resume-" + name);
  const std::string a = dir + "/uninterrupted", b = dir + "/killed";
  std::filesystem::remove_all(a);
  std::filesystem::remove_all(b);
  const std::string settings = "--seed 3 coop.n_ctx=4 optim.lr=0.02 train.max_epoch=50 " + extra;

  const CliResult ra = run_cli(train_args(a, settings));
  ASSERT_EQ(ra.status, 0) << ra.output;
  std::string why;
  ASSERT_TRUE(train_and_stop(train_args(b, settings), b, 2, sig, &why)) << why;
  EXPECT_FALSE(std::filesystem::exists(b + "/delta.safetensors"));
  const int64_t killed_at = checkpoint_epoch(b);
  EXPECT_GE(killed_at, 2);
  EXPECT_LT(killed_at, 50);
  const CliResult rb = run_cli("train --resume " + quoted(b));
  ASSERT_EQ(rb.status, 0) << rb.output;

  const core::TensorFile da = core::read_safetensors(a + "/delta.safetensors");
  const core::TensorFile db = core::read_safetensors(b + "/delta.safetensors");
  ASSERT_EQ(da.tensors.size(), db.tensors.size());
  for (const auto& [tensor, value] : da.tensors) {
    ASSERT_TRUE(db.tensors.count(tensor)) << tensor;
    EXPECT_TRUE(at::equal(value, db.tensors.at(tensor)))
        << tensor << " differs after resuming from epoch " << killed_at << "; max |diff| "
        << (value - db.tensors.at(tensor)).abs().max().item<double>();
  }
  EXPECT_EQ(losses(a), losses(b)) << "per-epoch losses differ after resuming from " << killed_at;
  EXPECT_EQ(read_json(a + "/results.json")["test"]["top1"],
            read_json(b + "/results.json")["test"]["top1"]);
  EXPECT_EQ(core::read_file(a + "/split_fewshot.json"), core::read_file(b + "/split_fewshot.json"));
}

TEST(ResumeCli, KilledRunResumesToTheSameDeltaOnCachedFeatures) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_resume_reproduces("no-augment", "--no-augment", SIGKILL);
}

TEST(ResumeCli, KilledRunResumesToTheSameDeltaOnAugmentedViews) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_resume_reproduces("aug-views", "--aug-views 2", SIGKILL);
}

TEST(ResumeCli, CtrlCSavesSaysHowToResumeAndResumesToTheSameDelta) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_resume_reproduces("ctrl-c", "--no-augment", SIGINT);
}

}  // namespace
}  // namespace vlprompt::testing
