// `vlprompt eval`: a delta re-evaluated where it was trained gives the run's own numbers; a
// unified context transfers to another dataset's classes, a class-specific one refuses; a delta
// refuses a backbone with other weights, naming both fingerprints.
#include <gtest/gtest.h>

#include "models/clip/load_clip.h"
#include "tests/cli/cli_test_support.h"

namespace vlprompt::testing {
namespace {

std::string eval_args(const std::string& run, const std::string& model, const std::string& out,
                      const std::string& dataset) {
  return "eval --delta " + quoted(run + "/delta.safetensors") + " --model " + quoted(model) +
         " --vocab " + quoted(vocab()) + " --out " + quoted(out) + " --dataset " + dataset;
}

std::string cifar10_root() { return shared_path("data/cifar10"); }

TEST(EvalCli, ReproducesTheRunsTestAccuracy) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string run = csc_run();
  const std::string out = scratch_dir("eval-same");
  const CliResult r = run_cli(eval_args(run, tiny_model(), out, "fashion_mnist"));
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json trained = read_json(run + "/results.json");
  const nlohmann::json evaluated = read_json(out + "/results.json");
  EXPECT_EQ(evaluated["command"], "eval");
  EXPECT_EQ(evaluated["method"], "coop");
  EXPECT_EQ(evaluated["shots"], 16);
  EXPECT_EQ(evaluated["seed"], 1);
  EXPECT_EQ(evaluated["delta"]["hyperparameters"]["csc"], "true");
  EXPECT_EQ(evaluated["test"]["n"], 10000);
  EXPECT_DOUBLE_EQ(evaluated["test"]["top1"].get<double>(), trained["test"]["top1"].get<double>());
  EXPECT_DOUBLE_EQ(evaluated["zeroshot_manual"]["top1"].get<double>(),
                   trained["zeroshot_manual"]["top1"].get<double>());
  EXPECT_TRUE(std::filesystem::exists(out + "/report.html"));
  EXPECT_NE(r.output.find("learned: coop"), std::string::npos) << r.output;
}

TEST(EvalCli, UnifiedContextTransfersToAnotherDataset) {
  VLP_REQUIRE_SHARED("data/cifar10/test");
  VLP_REQUIRE_FASHION_MNIST();
  const std::string out = scratch_dir("eval-cifar10");
  const CliResult r = run_cli(eval_args(unified_run(1), tiny_model(), out, "cifar10") +
                              " --data-root " + quoted(cifar10_root()));
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json e = read_json(out + "/results.json");
  EXPECT_EQ(e["dataset"], "cifar10");
  EXPECT_EQ(e["trained_on"], "fashion_mnist");
  ASSERT_EQ(e["classnames"].size(), 10u);
  EXPECT_EQ(e["classnames"][0], "airplane");
  EXPECT_EQ(e["delta"]["classnames"][0], "t-shirt");
  EXPECT_GT(e["test"]["n"].get<int64_t>(), 0);
}

TEST(EvalCli, ClassSpecificContextRefusesOtherClasses) {
  VLP_REQUIRE_SHARED("data/cifar10/test");
  VLP_REQUIRE_FASHION_MNIST();
  const std::string out = scratch_dir("eval-csc-cifar10");
  const CliResult r = run_cli(eval_args(csc_run(), tiny_model(), out, "cifar10") + " --data-root " +
                              quoted(cifar10_root()));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("class-specific context"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("t-shirt"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("airplane"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(out + "/results.json"));
}

TEST(EvalCli, OtherBackboneWeightsAreRefusedNamingBothFingerprints) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string run = unified_run(1);
  const std::string other = tiny_model(1);
  const std::string trained_fp = read_json(run + "/results.json")["model"]["fingerprint"];
  const std::string other_fp = models::load_clip(other).model->fingerprint();
  ASSERT_NE(trained_fp, other_fp);
  const std::string out = scratch_dir("eval-other-backbone");
  const CliResult r = run_cli(eval_args(run, other, out, "fashion_mnist"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(trained_fp), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(other_fp), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("delta.safetensors"), std::string::npos) << r.output;
}

TEST(EvalCli, MissingDeltaFileIsNamed) {
  const std::string out = scratch_dir("eval-missing");
  const CliResult r = run_cli("eval --delta " + quoted(out + "/nope.safetensors") +
                              " --model tiny --dataset fashion_mnist --out " + quoted(out));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("nope.safetensors"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace vlprompt::testing
