// Data-parallel training on c10d (Gloo on loopback): two ranks end with the delta one process
// ends with, for a text-side delta on cached features and an image-side one on augmented images;
// a rank that dies makes the other exit naming what happened; bad launch variables are errors.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include "src/core/safetensors.h"
#include "tests/cli/cli_test_support.h"
#include "tests/cli/train_stop.h"

extern char** environ;

namespace vlprompt::testing {
namespace {

std::string train_args(const std::string& method, const std::string& extra,
                       const std::string& out) {
  return "train --method " + method + " --model " + quoted(pretrained_model()) + " --vocab " +
         quoted(vocab()) + " --dataset fashion_mnist " + extra + " train.progress=off --out " +
         quoted(out);
}

double max_difference(const std::string& a, const std::string& b) {
  const auto da = core::read_safetensors(a).tensors;
  const auto db = core::read_safetensors(b).tensors;
  EXPECT_EQ(da.size(), db.size());
  double worst = 0;
  for (const auto& [name, t] : da) {
    worst = std::max(worst, (t - db.at(name)).abs().max().item<double>());
  }
  return worst;
}

void expect_two_ranks_match_one(const std::string& method, const std::string& extra) {
  const std::string dir = scratch_dir("distributed") + "/" + method;
  std::filesystem::remove_all(dir);
  const CliResult one = run_cli(train_args(method, extra, dir + "/one"));
  ASSERT_EQ(one.status, 0) << one.output;
  const CliResult two = run_cli(train_args(method, extra + " --nproc 2", dir + "/two"));
  ASSERT_EQ(two.status, 0) << two.output;
  // Within 1e-6, not bit for bit: the global gradient is the ranks' weighted sum, in another
  // order than one process's mean over the batch.
  EXPECT_LT(max_difference(dir + "/one/delta.safetensors", dir + "/two/delta.safetensors"), 1e-6)
      << method;
  // Rank 1's mirror holds the very same state.
  EXPECT_EQ(
      max_difference(dir + "/two/delta.safetensors", dir + "/two/ranks/rank-1/delta.safetensors"),
      0.0);
  const nlohmann::json results = read_json(dir + "/two/results.json");
  EXPECT_EQ(results["training"]["world_size"], 2);
  EXPECT_EQ(read_json(dir + "/two/checkpoint/checkpoint.json")["options"]["world_size"], 2);
  EXPECT_EQ(read_json(dir + "/one/results.json")["test"]["top1"], results["test"]["top1"]);
  // Validation is sharded over the ranks and gathered: the same val top-1 every epoch.
  const auto val_curve = [](const std::string& run) {
    std::vector<double> out;
    std::ifstream in(run + "/metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      out.push_back(nlohmann::json::parse(line).at("val_top1").get<double>());
    }
    return out;
  };
  EXPECT_EQ(val_curve(dir + "/one"), val_curve(dir + "/two")) << method;
  EXPECT_FALSE(val_curve(dir + "/two").empty());
}

TEST(DistributedCli, TwoRanksEndWhereOneEndsForCoopOnCachedFeatures) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_two_ranks_match_one("coop",
                             "--shots 8 --seed 1 --no-augment train.max_epoch=3 coop.n_ctx=4");
}

// VPT trains on augmented images: each rank draws the whole batch's crops and flips and keeps
// its rows, so its shard holds what one process's batch holds there.
TEST(DistributedCli, TwoRanksEndWhereOneEndsForVptOnAugmentedImages) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_two_ranks_match_one("vpt", "--shots 4 --seed 2 train.max_epoch=2 vpt.n_ctx=2");
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string launch_env(int rank, int port) {
  return "RANK=" + std::to_string(rank) +
         " WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) +
         " VLPROMPT_DIST_TIMEOUT_S=30 ";
}

pid_t spawn_rank(int rank, int port, const std::string& args, const std::string& log) {
  set_cli_environment();
  const std::string cmd = "exec env " + launch_env(rank, port) + std::string(VLPROMPT_CLI) + " " +
                          args + " >" + quoted(log) + " 2>&1";
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = 0;
  posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ);
  return pid;
}

TEST(DistributedCli, AKilledRankMakesTheOtherExitNamingWhatHappened) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string dir = scratch_dir("distributed") + "/killed";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const int port = free_port();
  const std::string args =
      train_args("coop", "--shots 8 --seed 1 --no-augment train.max_epoch=400", dir + "/run");
  const pid_t r0 = spawn_rank(0, port, args, dir + "/rank0.log");
  const pid_t r1 = spawn_rank(1, port, args, dir + "/rank1.log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (checkpoint_epoch(dir + "/run/ranks/rank-1") < 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GE(checkpoint_epoch(dir + "/run/ranks/rank-1"), 1) << core::read_file(dir + "/rank1.log");
  kill(r1, SIGKILL);
  int status = 0;
  waitpid(r1, &status, 0);
  const auto killed = std::chrono::steady_clock::now();
  pid_t done = 0;
  while ((done = waitpid(r0, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() - killed < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (done == 0) {
    kill(r0, SIGKILL);
    waitpid(r0, &status, 0);
    FAIL() << "rank 0 still ran 60 s after rank 1 died";
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
  const std::string log = core::read_file(dir + "/rank0.log");
  EXPECT_NE(log.find("rank 0 of 2 lost the others"), std::string::npos) << log;
}

// The communication benchmark on the tiny config: CoOp trains n_ctx 16 x text width 64 values,
// VPT depth 2 (the tower's layers) x 8 tokens x width 64 (models/configs/tiny.yaml, the YAMLs).
TEST(DistributedCli, BenchAllreduceReportsEachMethodsBucket) {
  const std::string out = scratch_dir("distributed") + "/allreduce.json";
  std::filesystem::remove(out);
  const CliResult r = run_cli(
      "bench allreduce --nproc 2 --config tiny --iters 2 --warmup 0 "
      "--vocab " +
      quoted(vocab()) + " --out " + quoted(out));
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json j = read_json(out);
  EXPECT_EQ(j["world_size"], 2);
  std::map<std::string, nlohmann::json> rows;
  for (const auto& row : j["methods"]) rows[row["method"]] = row;
  EXPECT_EQ(rows.at("coop")["trained_values"], 16 * 64);
  EXPECT_EQ(rows.at("vpt")["trained_values"], 2 * 8 * 64);
  // The bucket adds a flag per parameter tensor, the loss and the right answers.
  EXPECT_EQ(rows.at("coop")["bucket_bytes"], 4 * (16 * 64 + 1 + 2));
  EXPECT_GT(rows.at("finetune")["allreduce_ms_median"].get<double>(), 0.0);
}

TEST(DistributedCli, BadLaunchVariablesAreErrorsNamingThem) {
  const std::string out = scratch_dir("distributed") + "/bad";
  const auto run_env = [&](const std::string& env) {
    return run_cli("train --help >/dev/null; env " + env + " " + std::string(VLPROMPT_CLI) + " " +
                   train_args("coop", "--shots 2", out));
  };
  const CliResult rank = run_env("RANK=5 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29500");
  EXPECT_NE(rank.status, 0);
  EXPECT_NE(rank.output.find("RANK='5'; expected an integer in [0, 1]"), std::string::npos)
      << rank.output;
  const CliResult addr = run_env("RANK=1 WORLD_SIZE=2 MASTER_PORT=29500");
  EXPECT_NE(addr.output.find("MASTER_ADDR is not set"), std::string::npos) << addr.output;
  const int port = free_port();  // nobody serves it
  const CliResult nobody =
      run_env("RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) +
              " VLPROMPT_DIST_TIMEOUT_S=3");
  EXPECT_NE(nobody.status, 0);
  EXPECT_NE(nobody.output.find("could not meet the others at 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << nobody.output;
}

}  // namespace
}  // namespace vlprompt::testing
