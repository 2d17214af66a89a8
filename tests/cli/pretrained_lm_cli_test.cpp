// The shipped demonstration language model: `--model tiny-pretrained-lm` names it, `vlprompt
// models` lists it with how it was made, runs record it as pretrained (from model.safetensors's
// own metadata), an unknown name lists what ships, and its pretraining never read an entry of the
// fortunes catalog's test split (checked against the data set loader, not the script).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "datasets/text/text_loader.h"
#include "tests/cli/cli_test_support.h"

namespace vlprompt::testing {
namespace {

TEST(PretrainedLm, ListedWithHowItWasMade) {
  const CliResult r = run_cli("models");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("tiny-pretrained-lm"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("4 layers, width 128"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("tools/pretrain_tiny_lm.sh"), std::string::npos) << r.output;
}

TEST(PretrainedLm, NamedByItsNameAndRecordedAsPretrained) {
  VLP_REQUIRE_FORTUNES();
  const std::string out = scratch_dir("pretrained-lm") + "/run";
  std::filesystem::remove_all(out);
  const CliResult r = run_cli(
      "train --method prompt-tuning --model tiny-pretrained-lm --dataset fortunes --shots 1 "
      "--out " +
      quoted(out) + " text.max_tokens=32 prompt_tuning.n_virtual=2 train.max_epoch=1");
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json model = read_json(out + "/results.json")["model"];
  EXPECT_EQ(model["pretrained"], true) << model.dump();
  EXPECT_NE(model["provenance"].get<std::string>().find("not LLaMA"), std::string::npos)
      << model.dump();
  EXPECT_EQ(std::filesystem::path(model["source"].get<std::string>()).filename(),
            "tiny-pretrained-lm");
}

TEST(PretrainedLm, AnUnknownNameListsTheShippedModels) {
  const CliResult r = run_cli("lm score --model tiny-pretrianed-lm --texts hello");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("shipped language model: tiny-pretrained-lm"), std::string::npos)
      << r.output;
}

TEST(PretrainedLm, PretrainingHeldOutTheCatalogsTestSplit) {
  VLP_REQUIRE_FORTUNES();
  const nlohmann::json record = read_json(pretrained_lm() + "/pretraining.json");
  const datasets::TextSplit test = datasets::load_text_split("fortunes", "", "test");
  std::map<std::string, std::vector<std::string>> keys;
  for (const auto& item : test.items) keys[test.classnames.at(item.label)].push_back(item.key);
  ASSERT_EQ(keys.size(), 5u);
  for (auto& [category, list] : keys) {
    ASSERT_TRUE(record["held_out_test_keys"].contains(category)) << category;
    auto held = record["held_out_test_keys"][category].get<std::vector<std::string>>();
    std::sort(list.begin(), list.end());
    std::sort(held.begin(), held.end());
    EXPECT_EQ(held, list) << category << ": the script held out other entries than the test split";
  }
  // The evaluation template is not among the pretraining captions.
  for (const auto& pattern : record["caption_patterns"])
    EXPECT_EQ(pattern.get<std::string>().find("Topic:"), std::string::npos) << pattern;
}

}  // namespace
}  // namespace vlprompt::testing
