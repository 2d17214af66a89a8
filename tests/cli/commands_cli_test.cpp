// The smaller subcommands: tokenize (ids as OpenAI's tokenizer gives them), zeroshot (template
// sets side by side), methods (the registry's list).
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "tests/cli/cli_test_support.h"

namespace vlprompt::testing {
namespace {

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '{') out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

TEST(TokenizeCli, PrintsOpenAIsIdsForAPrompt) {
  const CliResult r = run_cli("tokenize --vocab " + quoted(vocab()) + " 'a photo of a cat.'");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto lines = json_lines(r.output);
  ASSERT_EQ(lines.size(), 1u) << r.output;
  EXPECT_EQ(lines[0]["text"], "a photo of a cat.");
  const std::vector<int64_t> ids = lines[0]["ids"];
  ASSERT_EQ(ids.size(), 77u);
  const std::vector<int64_t> head(ids.begin(), ids.begin() + 9);
  EXPECT_EQ(head, (std::vector<int64_t>{49406, 320, 1125, 539, 320, 2368, 269, 49407, 0}));
}

TEST(TokenizeCli, MatchesTheReferenceTokenizerOnEveryCase) {
  VLP_REQUIRE_SHARED("data/clip/tokenizer_reference.json");
  const nlohmann::json ref = read_json(shared_path("data/clip/tokenizer_reference.json"));
  std::string jsonl;
  for (const auto& c : ref["cases"]) jsonl += nlohmann::json(c["text"]).dump() + "\n";
  const std::string file = scratch_dir("tokenize") + "/cases.jsonl";
  core::atomic_write(file, jsonl);
  const CliResult r =
      run_cli("tokenize --raw --vocab " + quoted(vocab()) + " --jsonl " + quoted(file));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto lines = json_lines(r.output);
  ASSERT_EQ(lines.size(), ref["cases"].size());
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["ids"], ref["cases"][i]["ids"]) << ref["cases"][i]["text"];
  }
}

TEST(ZeroshotCli, ComparesThreeTemplateSets) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string out = scratch_dir("zeroshot");
  const CliResult r =
      run_cli("zeroshot --model " + quoted(tiny_model()) + " --vocab " + quoted(vocab()) +
              " --dataset fashion_mnist --templates manual select7 imagenet80 "
              "--out " +
              quoted(out));
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json z = read_json(out + "/results.json");
  EXPECT_EQ(z["command"], "zeroshot");
  ASSERT_EQ(z["results"].size(), 3u);
  EXPECT_EQ(z["results"][0]["templates"], "manual");
  EXPECT_EQ(z["results"][0]["n_templates"], 1);
  EXPECT_EQ(z["results"][0]["template_list"][0], "a photo of a {}, a type of clothing.");
  EXPECT_EQ(z["results"][1]["templates"], "select7");
  EXPECT_EQ(z["results"][1]["n_templates"], 7);
  EXPECT_EQ(z["results"][2]["templates"], "imagenet80");
  EXPECT_EQ(z["results"][2]["n_templates"], 80);
  for (const auto& res : z["results"]) EXPECT_EQ(res["n"], 10000);
}

TEST(MethodsCli, ListsTheRegisteredMethods) {
  const CliResult r = run_cli("methods --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json m = nlohmann::json::parse(r.output.substr(r.output.find('[')));
  std::vector<std::string> names;
  for (const auto& e : m) {
    names.push_back(e["name"]);
    EXPECT_FALSE(e["description"].get<std::string>().empty()) << e["name"];
    const std::string name = e["name"];
    const bool lm = name == "prompt_tuning" || name == "prefix_tuning" || name == "p_tuning";
    const std::set<std::string> any_model = {"lora",      "ia3",     "adapter", "bitfit",
                                             "ln_tuning", "partial", "finetune"};
    EXPECT_EQ(e["kind"], name == "linear_probe"  ? "fitted"
                         : lm                    ? "lm-delta"
                         : any_model.count(name) ? "any-model-delta"
                                                 : "delta")
        << name;
  }
  EXPECT_NE(std::find(names.begin(), names.end(), "coop"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "linear_probe"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "prefix_tuning"), names.end());
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));

  const CliResult text = run_cli("methods");
  ASSERT_EQ(text.status, 0);
  EXPECT_NE(text.output.find(m[0]["description"].get<std::string>()), std::string::npos);
}

}  // namespace
}  // namespace vlprompt::testing
