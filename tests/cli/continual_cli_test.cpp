// `vlprompt train --tasks T` end to end on the shipped tiny-pretrained CLIP and Fashion-MNIST:
// the accuracy matrix and its numbers in results.json and report.html, exact resume after a kill
// between tasks and within one, the joint linear-probe bound, and the errors.
#include <gtest/gtest.h>
#include <signal.h>

#include "src/core/safetensors.h"
#include "src/engine/continual_metrics.h"
#include "tests/cli/cli_test_support.h"
#include "tests/cli/train_stop.h"

namespace vlprompt::testing {
namespace {

std::string continual_args(const std::string& method, const std::string& extra,
                           const std::string& out) {
  return "train --method " + method + " --model " + quoted(pretrained_model()) + " --vocab " +
         quoted(vocab()) + " --dataset fashion_mnist --tasks 2 " + extra +
         " train.progress=off --out " + quoted(out);
}

// The matrix's columns back from results.json (acc[0..t][t] after task t).
std::vector<std::vector<double>> columns_of(const nlohmann::json& continual) {
  const auto& m = continual.at("accuracy_matrix");
  std::vector<std::vector<double>> out(m.size());
  for (size_t t = 0; t < m.size(); ++t) {
    for (size_t i = 0; i <= t; ++i) out[t].push_back(m[i][t].get<double>());
  }
  return out;
}

TEST(ContinualCli, L2pTwoTasksRecordTheMatrixItsNumbersAndTheReport) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string out = scratch_dir("continual") + "/l2p-two-tasks";
  std::filesystem::remove_all(out);
  const CliResult r = run_cli(continual_args("l2p", "--shots 24 --seed 1 train.max_epoch=2", out));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("average_accuracy:"), std::string::npos) << r.output;
  const nlohmann::json results = read_json(out + "/results.json");
  const nlohmann::json& c = results.at("continual");
  ASSERT_EQ(c["accuracy_matrix"].size(), 2u);
  EXPECT_TRUE(c["accuracy_matrix"][1][0].is_null());
  const auto columns = columns_of(c);
  // The numbers follow from the matrix by the L2P code's formulas, worked here directly.
  EXPECT_NEAR(c["average_accuracy"][1].get<double>(), (columns[1][0] + columns[1][1]) / 2, 1e-9);
  EXPECT_NEAR(c["forgetting"][1].get<double>(),
              std::max(columns[0][0], columns[1][0]) - columns[1][0], 1e-9);
  EXPECT_NEAR(c["backward_transfer"][1].get<double>(), columns[1][0] - columns[0][0], 1e-9);
  EXPECT_TRUE(c["forgetting"][0].is_null());
  // Two disjoint tasks of five classes, seeded; the hand-written prompt on the same protocol.
  const auto& tasks = c["split"]["tasks"];
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0]["classes"].size() + tasks[1]["classes"].size(), 10u);
  EXPECT_EQ(c["hand_written"]["accuracy_matrix"].size(), 2u);
  EXPECT_EQ(c["per_task"][1]["train_images"], 5 * 24);
  // The final state is tested on the whole test split beside the hand-written prompt.
  EXPECT_EQ(results["n"]["test"], 10000);
  EXPECT_GT(results["test"]["top1"].get<double>(), 10.0);
  const std::string report = core::read_file(out + "/report.html");
  EXPECT_NE(report.find("Accuracy matrix"), std::string::npos);
  EXPECT_NE(report.find("average accuracy (%) after each task"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(out + "/tasks/task-2/state.safetensors"));
  const auto delta = core::read_safetensors(out + "/delta.safetensors").tensors;
  EXPECT_TRUE(delta.count("l2p.prompt_key"));
  EXPECT_EQ(delta.size(), 4u);  // prompt, prompt_key, head weight and bias: nothing frozen
}

// The comparison: two tasks of five classes (seeded split), 300 shots per class, 5 epochs
// per task for both. L2P runs its YAML (prompt readout, linear head, train mask, batch-wise
// selection) at the code's unscaled lr 0.03: a task here is 94 steps, against ~1,560 for a
// Split CIFAR-100 task, and at the scaled 0.001875 the second task's head never catches up (5%
// on it). Measured (forgetting after task 2, points; AMD EPYC, OpenBLAS): L2P 14.2 / 35.6 / 28.0,
// sequential CoOp 44.2 / 47.6 / 9.7 for seeds 1 / 2 / 3, means 25.9 and 33.8. Seed 3's CoOp
// learned task 1 less (64.4, below the hand-written prompt's 69.1), so it had less to forget.
TEST(ContinualCli, L2pForgetsLessThanSequentialCoopOverSeedsOneToThree) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string dir = scratch_dir("continual") + "/forgetting";
  double l2p = 0, coop = 0;
  for (int seed = 1; seed <= 3; ++seed) {
    const std::string s = " --shots 300 --seed " + std::to_string(seed);
    const std::string a = dir + "/l2p-" + std::to_string(seed);
    const std::string b = dir + "/coop-" + std::to_string(seed);
    std::filesystem::remove_all(a);
    std::filesystem::remove_all(b);
    const CliResult ra = run_cli(continual_args("l2p", s + " optim.lr=0.03", a));
    ASSERT_EQ(ra.status, 0) << ra.output;
    const CliResult rb = run_cli(continual_args("coop", s + " train.max_epoch=5", b));
    ASSERT_EQ(rb.status, 0) << rb.output;
    const nlohmann::json ca = read_json(a + "/results.json")["continual"];
    const nlohmann::json cb = read_json(b + "/results.json")["continual"];
    // L2P learned each task when it met it (chance: 20% among 5 classes, 10% among 10).
    EXPECT_GT(ca["accuracy_matrix"][0][0].get<double>(), 60.0) << "seed " << seed;
    EXPECT_GT(ca["accuracy_matrix"][1][1].get<double>(), 35.0) << "seed " << seed;
    l2p += ca["forgetting"][1].get<double>() / 3;
    coop += cb["forgetting"][1].get<double>() / 3;
  }
  EXPECT_LT(l2p + 4.0, coop) << "mean forgetting over seeds 1-3: l2p " << l2p << ", coop " << coop;
}

void expect_same_run(const std::string& a, const std::string& b) {
  const auto da = core::read_safetensors(a + "/delta.safetensors").tensors;
  const auto db = core::read_safetensors(b + "/delta.safetensors").tensors;
  ASSERT_EQ(da.size(), db.size());
  for (const auto& [name, t] : da) EXPECT_TRUE(at::equal(t, db.at(name))) << name;
  EXPECT_EQ(read_json(a + "/results.json")["continual"]["accuracy_matrix"],
            read_json(b + "/results.json")["continual"]["accuracy_matrix"]);
}

TEST(ContinualCli, AKilledRunResumesExactlyBetweenTasksAndWithinOne) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string dir = scratch_dir("continual") + "/resume";
  std::filesystem::remove_all(dir);
  const std::string extra = "--shots 8 --seed 3 train.max_epoch=3";
  const std::string whole = dir + "/uninterrupted";
  const CliResult ra = run_cli(continual_args("l2p", extra, whole));
  ASSERT_EQ(ra.status, 0) << ra.output;
  // Within task 2: killed once its first epoch is checkpointed.
  const std::string within = dir + "/within";
  std::string why;
  // train_and_stop logs beside the folder it watches.
  std::filesystem::create_directories(within + "/tasks");
  std::filesystem::create_directories(dir + "/between/tasks");
  ASSERT_TRUE(train_and_stop(continual_args("l2p", extra, within), within + "/tasks/task-2", 1,
                             SIGKILL, &why))
      << why;
  EXPECT_FALSE(std::filesystem::exists(within + "/results.json"));
  const CliResult rb = run_cli("train --resume " + quoted(within));
  ASSERT_EQ(rb.status, 0) << rb.output;
  expect_same_run(whole, within);
  // Between tasks: killed once task 1's last epoch is checkpointed, wherever its test and state
  // commit had got to.
  const std::string between = dir + "/between";
  ASSERT_TRUE(train_and_stop(continual_args("l2p", extra, between), between + "/tasks/task-1", 3,
                             SIGKILL, &why))
      << why;
  const CliResult rc = run_cli("train --resume " + quoted(between));
  ASSERT_EQ(rc.status, 0) << rc.output;
  expect_same_run(whole, between);
}

// Split CIFAR-10 5 x 2 on the CIFAR-10 folders in ../shared (tiny-pretrained never saw CIFAR:
// the numbers are near chance; this checks the protocol's shape on a second dataset).
TEST(ContinualCli, SplitCifar10FiveByTwoRuns) {
  VLP_REQUIRE_SHARED("data/cifar10/train");
  const std::string out = scratch_dir("continual") + "/split-cifar10";
  std::filesystem::remove_all(out);
  const CliResult r = run_cli(
      "train --method coop --model " + quoted(pretrained_model()) + " --vocab " + quoted(vocab()) +
      " --dataset cifar10 --data-root " + quoted(testing::shared_path("data/cifar10")) +
      " --tasks 5 --task-order given --shots 4 --seed 1 train.max_epoch=1 coop.n_ctx=4 "
      "train.progress=off --out " +
      quoted(out));
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json c = read_json(out + "/results.json")["continual"];
  ASSERT_EQ(c["accuracy_matrix"].size(), 5u);
  EXPECT_EQ(c["split"]["tasks"][4]["classnames"], (nlohmann::json{"ship", "truck"}));
  EXPECT_EQ(c["average_accuracy"].size(), 5u);
  EXPECT_EQ(c["per_task"][0]["train_images"], 8);
}

TEST(ContinualCli, TheLinearProbeIsTheJointUpperBound) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string out = scratch_dir("continual") + "/probe";
  std::filesystem::remove_all(out);
  const CliResult r = run_cli(continual_args("linear_probe", "--shots 16 --seed 1", out));
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json c = read_json(out + "/results.json")["continual"];
  EXPECT_NE(c["protocol"].get<std::string>().find("joint"), std::string::npos);
  ASSERT_EQ(c["per_task_accuracy"].size(), 2u);
  EXPECT_GT(c["average_accuracy"][0].get<double>(), 50.0);
}

TEST(ContinualCli, TasksThatCannotSplitTheClassesAreAnError) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string out = scratch_dir("continual") + "/bad";
  // (arguments beside coop on fashion_mnist, the error the run must print)
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--tasks 3", "--tasks 3 cannot split 10 classes"},
      {"--tasks 2 --task-order random", "--task-order must be seeded or given"},
      {"--tasks 2 --subsample base", "--subsample must be all, got 'base'"},
      {"--tasks 2 --nproc 2", "train --tasks runs in one process for now"}};
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string run = out + "-" + std::to_string(i);
    std::filesystem::remove_all(run);
    const CliResult r = run_cli("train --method coop --model " + quoted(pretrained_model()) +
                                " --vocab " + quoted(vocab()) + " --dataset fashion_mnist " +
                                cases[i].first + " --out " + quoted(run));
    EXPECT_NE(r.status, 0) << cases[i].first;
    EXPECT_NE(r.output.find(cases[i].second), std::string::npos) << r.output;
  }
}

}  // namespace
}  // namespace vlprompt::testing
