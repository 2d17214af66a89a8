// The README's table on the shipped demonstration model (tiny-pretrained: a tiny CLIP pretrained
// contrastively on Fashion-MNIST train and digits, see tools/pretrain_tiny_clip.sh), reproduced
// for seed 1: each method trained with its row's settings (the `args` tools/pretrained_table.sh
// chose on the val split and recorded in models/pretrained/tiny-pretrained.table.json) on 16
// shots per class and evaluated on all 10,000 Fashion-MNIST test images must match the committed
// table within 1 point, and the hand-written prompt must score at least twice chance. Where the
// README claims a method learns what the hand-written prompt does not know, the committed mean of
// seeds 1-3 must clear that prompt by 3 points and the seed-1 rerun by 2, bars no run at chance
// level meets (single seeds spread by up to 8 points around their mean, so the 3-point claim is
// the mean's). Seeds 2 and 3 are left to the script (CoOp+VPT trains minutes per seed).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/cli/cli_test_support.h"

namespace vlprompt::testing {
namespace beats_zero_shot_test {

constexpr double kMargin = 3.0;          // points above the hand-written prompt, mean of 3 seeds
constexpr double kSeedMargin = 2.0;      // the same for the seed-1 rerun
constexpr double kZeroShotFloor = 20.0;  // twice chance on 10 classes
constexpr double kTableTolerance = 1.0;  // points, against the committed table
// CoCoOp and CoOp+VPT turn on the float32 reduction order, which OpenBLAS's per-CPU kernels
// change: the code that made the table reruns seed 1 at 69.63 and 68.12 on an AMD EPYC (table:
// 65.63 and 69.39). For them the rerun must stay near the table and clear the hand-written prompt.
constexpr double kCpuSensitiveTolerance = 5.0;

nlohmann::json committed_table() {
  return read_json(source_path("models/pretrained/tiny-pretrained.table.json"));
}

nlohmann::json committed_row(const std::string& method) {
  const nlohmann::json table = committed_table();
  for (const auto& row : table.at("methods")) {
    if (row.at("method") == method) return row;
  }
  ADD_FAILURE() << "no committed row for " << method;
  return {{"method", method}, {"args", ""}, {"seeds", {}}, {"top1", {}}, {"mean", -1}};
}

double committed_top1(const nlohmann::json& row, int seed) {
  const auto& seeds = row.at("seeds");
  for (size_t i = 0; i < seeds.size(); ++i) {
    if (seeds[i].get<int>() == seed) return row.at("top1")[i].get<double>();
  }
  ADD_FAILURE() << "no committed result for " << row.at("method") << " seed " << seed;
  return -1;
}

// One run of the table (as tools/pretrained_table.sh makes it); returns its test top-1 and the
// hand-written prompt's, both from results.json.
std::pair<double, double> run_method(const std::string& method, const std::string& args, int seed) {
  const std::string out =
      scratch_dir("beats_zero_shot") + "/" + method + "-seed" + std::to_string(seed);
  std::filesystem::remove_all(out);
  const CliResult r =
      run_cli("train --method " + method + " --model " + quoted(pretrained_model()) + " --vocab " +
              quoted(vocab()) + " --dataset fashion_mnist --shots 16 --seed " +
              std::to_string(seed) + " " + args + " train.progress=off --out " + quoted(out));
  EXPECT_EQ(r.status, 0) << r.output;
  if (r.status != 0) return {-1, -1};
  const nlohmann::json results = read_json(out + "/results.json");
  EXPECT_EQ(results.at("test").at("n").get<int64_t>(), 10000);
  EXPECT_EQ(results.at("model").at("pretrained"), true);
  return {results.at("test").at("top1").get<double>(),
          results.at("zeroshot_manual").at("top1").get<double>()};
}

void expect_table_row(const std::string& method, double tolerance = kTableTolerance) {
  const int seed = 1;
  const nlohmann::json row = committed_row(method);
  const auto [top1, manual] = run_method(method, row.at("args").get<std::string>(), seed);
  if (top1 < 0) return;
  EXPECT_NEAR(top1, committed_top1(row, seed), tolerance)
      << method << " seed " << seed << " no longer reproduces the committed table";
  EXPECT_GE(manual, kZeroShotFloor) << "the hand-written prompt must be well above chance";
  EXPECT_NEAR(manual, committed_table().at("zeroshot_manual_top1").get<double>(), 1e-6);
  EXPECT_GE(top1, manual + kSeedMargin) << method << ": " << top1 << " vs hand-written " << manual;
  EXPECT_GE(row.at("mean").get<double>(), manual + kMargin)
      << method << ": committed mean of seeds 1-3 vs hand-written " << manual;
}

TEST(PretrainedTable, CoOpBeatsTheHandWrittenPrompt) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_table_row("coop");
}

TEST(PretrainedTable, CoOpWithVptBeatsTheHandWrittenPrompt) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_table_row("coop+vpt", kCpuSensitiveTolerance);
}

TEST(PretrainedTable, CoCoOpBeatsTheHandWrittenPrompt) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_table_row("cocoop", kCpuSensitiveTolerance);
}

TEST(PretrainedTable, VptWithTheTextHeadBeatsTheHandWrittenPrompt) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_table_row("vpt");
}

TEST(PretrainedTable, MaPLeBeatsTheHandWrittenPrompt) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_table_row("maple");
}

TEST(PretrainedTable, IvlpBeatsTheHandWrittenPrompt) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_table_row("ivlp");
}

}  // namespace beats_zero_shot_test
}  // namespace vlprompt::testing
