// `vlprompt summarize`: mean ± sample std over seeds, CoCoOp's harmonic mean for base/new pairs,
// and plain errors for folders that hold no usable results.json.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "tests/cli/cli_test_support.h"

namespace vlprompt::testing {
namespace {

std::vector<std::string> csv_lines(const std::string& file) {
  std::vector<std::string> out;
  std::istringstream in(core::read_file(file));
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string f; std::getline(in, f, ',');) out.push_back(f);
  if (!line.empty() && line.back() == ',') out.push_back("");
  return out;
}

TEST(SummarizeCli, MeanAndSampleStdOverSeeds) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string r1 = unified_run(1), r2 = unified_run(2);
  const double a = read_json(r1 + "/results.json")["test"]["top1"];
  const double b = read_json(r2 + "/results.json")["test"]["top1"];
  const double manual = read_json(r1 + "/results.json")["zeroshot_manual"]["top1"];
  const std::string prefix = scratch_dir("summarize") + "/seeds";
  const CliResult r = run_cli("summarize " + quoted(r1) + " " + quoted(r2 + "/results.json") +
                              " --out " + quoted(prefix));
  ASSERT_EQ(r.status, 0) << r.output;

  const nlohmann::json s = read_json(prefix + ".json");
  ASSERT_EQ(s["groups"].size(), 1u);
  const nlohmann::json& g = s["groups"][0];
  EXPECT_EQ(g["dataset"], "fashion_mnist");
  EXPECT_EQ(g["shots"], 16);
  EXPECT_EQ(g["method"], "coop");
  EXPECT_EQ(g["backbone"], "tiny");
  EXPECT_EQ(g["subsample"], "all");
  EXPECT_EQ(g["n"], 2);
  EXPECT_EQ(g["seeds"], nlohmann::json({1, 2}));
  EXPECT_NEAR(g["test_top1"]["mean"].get<double>(), (a + b) / 2, 1e-9);
  // Sample std of two values: |a - b| / sqrt(2).
  EXPECT_NEAR(g["test_top1"]["std"].get<double>(), std::abs(a - b) / std::sqrt(2.0), 1e-9);
  // The hand-written prompt does not depend on the seed.
  EXPECT_NEAR(g["zeroshot_manual_top1"]["mean"].get<double>(), manual, 1e-9);
  EXPECT_NEAR(g["zeroshot_manual_top1"]["std"].get<double>(), 0.0, 1e-9);
  EXPECT_TRUE(s["harmonic_means"].empty());

  const std::vector<std::string> lines = csv_lines(prefix + ".csv");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("dataset,backbone,shots,method,subsample,n,seeds,test_top1_mean", 0),
            0u);
  const std::vector<std::string> row = split_csv(lines[1]);
  ASSERT_EQ(row.size(), 11u) << lines[1];
  EXPECT_EQ(row[0], "fashion_mnist");
  EXPECT_EQ(row[1], "tiny");
  EXPECT_EQ(row[5], "2");
  EXPECT_EQ(row[6], "1;2");
  EXPECT_NEAR(std::stod(row[7]), (a + b) / 2, 1e-4);
  EXPECT_NEAR(std::stod(row[8]), std::abs(a - b) / std::sqrt(2.0), 1e-4);

  char mean_pm_std[64];
  std::snprintf(mean_pm_std, sizeof(mean_pm_std), "%.2f ± %5.2f", (a + b) / 2,
                std::abs(a - b) / std::sqrt(2.0));
  EXPECT_NE(r.output.find(mean_pm_std), std::string::npos) << mean_pm_std << "\n" << r.output;
}

TEST(SummarizeCli, HarmonicMeanOfBaseAndNew) {
  VLP_REQUIRE_FASHION_MNIST();
  // CoOp's base-to-new protocol: train on the base half of the classes, evaluate on the new half.
  const std::string base =
      shared_run("coop-base-seed1",
                 "--seed 1 --subsample base --no-augment coop.n_ctx=4 optim.lr=0.02 "
                 "train.max_epoch=10");
  const std::string novel = scratch_dir("eval-new");
  const CliResult e = run_cli("eval --delta " + quoted(base + "/delta.safetensors") + " --model " +
                              quoted(tiny_model()) + " --vocab " + quoted(vocab()) +
                              " --dataset fashion_mnist --subsample new --out " + quoted(novel));
  ASSERT_EQ(e.status, 0) << e.output;
  const nlohmann::json rb = read_json(base + "/results.json"),
                       rn = read_json(novel + "/results.json");
  EXPECT_EQ(rb["classnames"].size(), 5u);
  EXPECT_EQ(rn["classnames"][0], "sandal");
  const double b = rb["test"]["top1"], n = rn["test"]["top1"];

  const std::string prefix = scratch_dir("summarize") + "/base-new";
  const CliResult r =
      run_cli("summarize " + quoted(base) + " " + quoted(novel) + " --out " + quoted(prefix));
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json s = read_json(prefix + ".json");
  ASSERT_EQ(s["groups"].size(), 2u);
  ASSERT_EQ(s["harmonic_means"].size(), 1u);
  const nlohmann::json& h = s["harmonic_means"][0];
  EXPECT_NEAR(h["base_top1"].get<double>(), b, 1e-9);
  EXPECT_NEAR(h["new_top1"].get<double>(), n, 1e-9);
  EXPECT_NEAR(h["H"].get<double>(), 2 * b * n / (b + n), 1e-9);
  EXPECT_NE(r.output.find("base-to-new"), std::string::npos) << r.output;
  const std::vector<std::string> lines = csv_lines(prefix + ".csv");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(split_csv(lines[3])[4], "H");
}

TEST(SummarizeCli, RunsWithOtherSettingsAreOtherExperiments) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string prefix = scratch_dir("summarize") + "/settings";
  const CliResult r = run_cli("summarize " + quoted(csc_run()) + " " + quoted(unified_run(1)) +
                              " " + quoted(unified_run(2)) + " --out " + quoted(prefix));
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json s = read_json(prefix + ".json");
  ASSERT_EQ(s["groups"].size(), 2u);
  // Sorted by label; only the settings that differ between the runs are named.
  EXPECT_EQ(s["groups"][0]["method"], "coop [csc=false n_ctx=4]");
  EXPECT_EQ(s["groups"][0]["n"], 2);
  EXPECT_EQ(s["groups"][1]["method"], "coop [csc=true n_ctx=16]");
  EXPECT_EQ(s["groups"][1]["n"], 1);
  EXPECT_TRUE(s["groups"][1]["test_top1"]["std"].is_null());
  EXPECT_NE(r.output.find("±   n/a"), std::string::npos) << r.output;
}

TEST(SummarizeCli, FolderWithoutResultsIsNamed) {
  const std::string empty = scratch_dir("summarize-empty");
  const CliResult r = run_cli("summarize " + quoted(empty) + " --out " + quoted(empty + "/s"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(empty + "/results.json"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(empty + "/s.json"));
}

TEST(SummarizeCli, GarbledResultsAreNamed) {
  const std::string dir = scratch_dir("summarize-garbled");
  core::atomic_write(dir + "/results.json", "{\"command\": \"train\", \"dataset\": ");
  CliResult r = run_cli("summarize " + quoted(dir) + " --out " + quoted(dir + "/s"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(dir + "/results.json"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("not valid JSON"), std::string::npos) << r.output;

  core::atomic_write(dir + "/results.json",
                     R"({"command": "train", "dataset": "x", "method": "coop", "subsample": "all",
                         "shots": 16, "seed": 1, "zeroshot_manual": {"top1": 1},
                         "model": {"architecture": "tiny"}})");
  r = run_cli("summarize " + quoted(dir) + " --out " + quoted(dir + "/s"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("'test'"), std::string::npos) << r.output;

  core::atomic_write(dir + "/results.json", R"({"command": "zeroshot"})");
  r = run_cli("summarize " + quoted(dir) + " --out " + quoted(dir + "/s"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("zeroshot"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace vlprompt::testing
