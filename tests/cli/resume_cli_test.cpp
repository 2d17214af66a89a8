// A run killed with SIGKILL (or stopped with Ctrl-C) mid-training and continued with
// `vlprompt train --resume` ends with exactly the delta of the same run left alone: the checkpoint
// carries everything the trajectory depends on (method and optimizer state, epoch, shuffling and
// augmentation draws).
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "src/core/safetensors.h"
#include "tests/cli/cli_test_support.h"

extern char** environ;

namespace vlprompt::testing {
namespace {

// Epochs completed according to the run's checkpoint.json (0 while there is none).
int64_t checkpoint_epoch(const std::string& run) {
  const std::string file = run + "/checkpoint/checkpoint.json";
  if (!std::filesystem::exists(file)) return 0;
  try {
    return read_json(file).value("epoch", int64_t{0});
  } catch (const std::exception&) {
    return 0;  // replaced between exists() and the read: look again
  }
}

// Starts `vlprompt train` in the background and sends it `sig` once `kill_after` epochs are
// checkpointed. SIGKILL must kill it; SIGINT (Ctrl-C) must make it save, say how to resume and
// exit with 130. Returns false (with the reason) otherwise.
bool train_and_stop(const std::string& args, const std::string& run, int64_t kill_after, int sig,
                    std::string* why) {
  set_cli_environment();
  const std::string cmd =
      "exec " + std::string(VLPROMPT_CLI) + " " + args + " >" + quoted(run + ".log") + " 2>&1";
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
    *why = "could not start " + cmd;
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int status = 0;
  while (checkpoint_epoch(run) < kill_after) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      *why = "the run ended before epoch " + std::to_string(kill_after) + ":\n" +
             core::read_file(run + ".log");
      return false;
    }
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(pid, sig);
  waitpid(pid, &status, 0);
  const std::string log = core::read_file(run + ".log");
  if (sig == SIGKILL && !WIFSIGNALED(status)) {
    *why = "the run was not killed (it had finished):\n" + log;
    return false;
  }
  if (sig == SIGINT) {
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 130) {
      *why = "Ctrl-C did not end the run with status 130:\n" + log;
      return false;
    }
    if (log.find("vlprompt train --resume " + run) == std::string::npos) {
      *why = "Ctrl-C output does not say how to resume:\n" + log;
      return false;
    }
  }
  return true;
}

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
