// The shipped demonstration model: `--model tiny-pretrained` names it, `vlprompt models` lists
// it with how it was made, results record what a model is (pretrained or a random
// initialisation, from the file's own metadata), and an unknown name lists what exists.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/cli/cli_test_support.h"

namespace vlprompt::testing {
namespace {

TEST(PretrainedModel, ListedWithHowItWasMade) {
  const CliResult r = run_cli("models");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("tiny-pretrained"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("contrastive pretraining by tools/pretrain_tiny_clip.sh"),
            std::string::npos)
      << r.output;
}

TEST(PretrainedModel, NamedByItsNameAndRecordedAsPretrained) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string out = scratch_dir("pretrained") + "/zeroshot";
  std::filesystem::remove_all(out);
  const CliResult r = run_cli("zeroshot --model tiny-pretrained --vocab " + quoted(vocab()) +
                              " --dataset fashion_mnist --templates manual --out " + quoted(out));
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json results = read_json(out + "/results.json");
  EXPECT_EQ(results["model"]["pretrained"], true);
  EXPECT_EQ(results["model"]["source"], pretrained_model());
  EXPECT_NE(results["model"]["provenance"].get<std::string>().find("not CLIP"), std::string::npos);
  // Twice chance on 10 classes, with a template the pretraining never saw.
  EXPECT_GE(results["results"][0]["top1"].get<double>(), 20.0) << results.dump();
  EXPECT_EQ(r.output.find("randomly initialised"), std::string::npos) << r.output;
}

TEST(PretrainedModel, RandomInitIsRecordedAsNotPretrained) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string out = scratch_dir("pretrained") + "/zeroshot-init";
  std::filesystem::remove_all(out);
  const CliResult r =
      run_cli("zeroshot --model " + quoted(tiny_model()) + " --vocab " + quoted(vocab()) +
              " --dataset fashion_mnist --templates manual " + "--out " + quoted(out));
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json model = read_json(out + "/results.json")["model"];
  EXPECT_EQ(model["pretrained"], false);
  EXPECT_NE(model["provenance"].get<std::string>().find("vlprompt init --config tiny --seed 0"),
            std::string::npos)
      << model.dump();
  EXPECT_NE(r.output.find("randomly initialised weights"), std::string::npos) << r.output;
}

TEST(PretrainedModel, AnUnknownNameListsTheShippedWeights) {
  const CliResult r =
      run_cli("zeroshot --model tiny-pretrianed --vocab " + quoted(vocab()) +
              " --dataset fashion_mnist --out " + quoted(scratch_dir("pretrained") + "/unknown"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("shipped weights: tiny-pretrained"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace vlprompt::testing
