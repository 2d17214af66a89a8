// The README's table on the shipped demonstration model (tiny-pretrained: a tiny CLIP pretrained
// contrastively on Fashion-MNIST train and digits, see tools/pretrain_tiny_clip.sh), reproduced
// for seed 1: each method trained with its own defaults on 16 shots per class and evaluated on all
// 10,000 Fashion-MNIST test images must match the committed table
// (models/pretrained/tiny-pretrained.table.json, all three seeds made by
// tools/pretrained_table.sh) within 1 point, and the hand-written prompt must score at least twice
// chance. Where the README claims a method learns what the hand-written prompt does not know, the
// run must clear that prompt by 3 points, a bar no run at chance level meets. The image-side
// prompt methods do not clear it on this model with their official defaults (README, "The
// demonstration model"): for them the test checks the table and claims nothing. Seeds 2 and 3
// are left to the script: CoOp+VPT alone trains 5 minutes per seed on 2 cores.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/cli/cli_test_support.h"

namespace vlprompt::testing {
namespace beats_zero_shot_test {

constexpr double kMargin = 3.0;          // points above the hand-written prompt, mean of 3 seeds
constexpr double kZeroShotFloor = 20.0;  // twice chance on 10 classes
constexpr double kTableTolerance = 1.0;  // points, against the committed table

nlohmann::json committed_table() {
  return read_json(source_path("models/pretrained/tiny-pretrained.table.json"));
}

double committed_top1(const std::string& method, int seed) {
  const nlohmann::json table = committed_table();  // kept alive: the loop reads inside it
  for (const auto& row : table.at("methods")) {
    if (row.at("method") != method) continue;
    const auto& seeds = row.at("seeds");
    for (size_t i = 0; i < seeds.size(); ++i) {
      if (seeds[i].get<int>() == seed) return row.at("top1")[i].get<double>();
    }
  }
  ADD_FAILURE() << "no committed result for " << method << " seed " << seed;
  return -1;
}

// One run of the table (as tools/pretrained_table.sh makes it); returns its test top-1 and the
// hand-written prompt's, both from results.json.
std::pair<double, double> run_method(const std::string& method, int seed) {
  const std::string out =
      scratch_dir("beats_zero_shot") + "/" + method + "-seed" + std::to_string(seed);
  std::filesystem::remove_all(out);
  const std::string extra = method == "coop" ? " --aug-views 10" : "";
  const CliResult r =
      run_cli("train --method " + method + " --model " + quoted(pretrained_model()) + " --vocab " +
              quoted(vocab()) + " --dataset fashion_mnist --shots 16 --seed " +
              std::to_string(seed) + extra + " train.progress=off --out " + quoted(out));
  EXPECT_EQ(r.status, 0) << r.output;
  if (r.status != 0) return {-1, -1};
  const nlohmann::json results = read_json(out + "/results.json");
  EXPECT_EQ(results.at("test").at("n").get<int64_t>(), 10000);
  EXPECT_EQ(results.at("model").at("pretrained"), true);
  return {results.at("test").at("top1").get<double>(),
          results.at("zeroshot_manual").at("top1").get<double>()};
}

enum class Claim { kBeatsZeroShot, kTableOnly };

void expect_table_row(const std::string& method, Claim claim) {
  const int seed = 1;
  const auto [top1, manual] = run_method(method, seed);
  if (top1 < 0) return;
  EXPECT_NEAR(top1, committed_top1(method, seed), kTableTolerance)
      << method << " seed " << seed << " no longer reproduces the committed table";
  EXPECT_GE(manual, kZeroShotFloor) << "the hand-written prompt must be well above chance";
  EXPECT_NEAR(manual, committed_table().at("zeroshot_manual_top1").get<double>(), 1e-6);
  if (claim == Claim::kBeatsZeroShot) {
    EXPECT_GE(top1, manual + kMargin) << method << ": " << top1 << " vs hand-written " << manual;
  }
}

TEST(PretrainedTable, CoOpBeatsTheHandWrittenPrompt) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_table_row("coop", Claim::kBeatsZeroShot);
}

TEST(PretrainedTable, CoOpWithVptBeatsTheHandWrittenPrompt) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_table_row("coop+vpt", Claim::kBeatsZeroShot);
}

TEST(PretrainedTable, CoCoOp) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_table_row("cocoop", Claim::kTableOnly);
}

TEST(PretrainedTable, VptWithTheTextHead) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_table_row("vpt", Claim::kTableOnly);
}

TEST(PretrainedTable, MaPLe) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_table_row("maple", Claim::kTableOnly);
}

TEST(PretrainedTable, Ivlp) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_table_row("ivlp", Claim::kTableOnly);
}

}  // namespace beats_zero_shot_test
}  // namespace vlprompt::testing
