// `vlprompt tokenize --model DIR` on the LLaMA folders of tests/fixtures/make_spm_fixtures.py:
// the vlprompt binary (which links LibTorch) finds the sentencepiece module and prints the ids
// python sentencepiece gave, BOS as the folder says, and pieces with --pieces.
#include <gtest/gtest.h>

#include <sstream>

#include "src/text/sentencepiece_tokenizer.h"
#include "tests/cli/cli_test_support.h"

namespace tokenize_llama_cli_test {

using vlprompt::testing::CliResult;
using vlprompt::testing::quoted;
using vlprompt::testing::run_cli;

std::string fixture(const std::string& rel) {
  return std::string(VLPROMPT_FIXTURE_DIR) + "/spm/" + rel;
}

std::vector<nlohmann::json> lines_of(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '{') out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

// Every test needs the sentencepiece module, absent from a -DVLPROMPT_WITH_SENTENCEPIECE=OFF build.
class TokenizeLlamaCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!vlprompt::text::sentencepiece_built()) GTEST_SKIP() << "built without sentencepiece";
  }
};

TEST_F(TokenizeLlamaCli, PrintsSentencepieceIdsWithBosAndPieces) {
  const nlohmann::json ref = vlprompt::testing::read_json(fixture("expected.json"));
  std::string args;
  for (int i : {0, 2, 4}) args += " " + quoted(ref["cases"][i]["text"].get<std::string>());
  const CliResult r = run_cli("tokenize --pieces --model " + quoted(fixture("llama")) + args);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto lines = lines_of(r.output);
  ASSERT_EQ(lines.size(), 3u) << r.output;
  size_t k = 0;
  for (int i : {0, 2, 4}) {
    const nlohmann::json& c = ref["cases"][i];
    std::vector<int64_t> ids = c["ids"];
    ids.insert(ids.begin(), 1);
    std::vector<std::string> pieces = c["pieces"];
    pieces.insert(pieces.begin(), "<s>");
    EXPECT_EQ(lines[k]["text"], c["text"]);
    EXPECT_EQ(lines[k]["ids"].get<std::vector<int64_t>>(), ids) << c["text"];
    EXPECT_EQ(lines[k]["pieces"].get<std::vector<std::string>>(), pieces) << c["text"];
    ++k;
  }
}

TEST_F(TokenizeLlamaCli, RawAndNoBosFolderOmitBos) {
  const nlohmann::json c = vlprompt::testing::read_json(fixture("expected.json"))["cases"][0];
  const std::string text = quoted(c["text"].get<std::string>());
  const CliResult raw = run_cli("tokenize --raw --model " + quoted(fixture("llama")) + " " + text);
  ASSERT_EQ(raw.status, 0) << raw.output;
  EXPECT_EQ(lines_of(raw.output).at(0)["ids"], c["ids"]);
  EXPECT_FALSE(lines_of(raw.output).at(0).contains("pieces"));
  const CliResult no_bos =
      run_cli("tokenize --model " + quoted(fixture("llama_no_bos")) + " " + text);
  ASSERT_EQ(no_bos.status, 0) << no_bos.output;
  std::vector<int64_t> want = c["ids"];
  want.push_back(2);  // add_eos_token true there
  EXPECT_EQ(lines_of(no_bos.output).at(0)["ids"].get<std::vector<int64_t>>(), want);
}

TEST_F(TokenizeLlamaCli, FolderWithoutTokenizerModelIsAnErrorNamingIt) {
  const std::string dir = vlprompt::testing::scratch_dir("tokenize_llama_empty");
  const CliResult r = run_cli("tokenize --model " + quoted(dir) + " hello");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find(dir + "/tokenizer.model"), std::string::npos) << r.output;
  const CliResult p = run_cli("tokenize --pieces hello");
  EXPECT_NE(p.status, 0);
  EXPECT_NE(p.output.find("--model"), std::string::npos) << p.output;
}

}  // namespace tokenize_llama_cli_test
