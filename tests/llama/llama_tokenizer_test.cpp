// LlamaTokenizer on the Hugging Face folders of tests/fixtures/make_spm_fixtures.py: ids as
// python sentencepiece gives them plus BOS/EOS as tokenizer_config.json says, special ids from
// config.json, decode with and without special pieces, and the folder's errors.
#include "models/llama/llama_tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "src/core/file_io.h"
#include "tests/test_support.h"

namespace llama_tokenizer_test {

namespace fs = std::filesystem;
namespace llm = vlprompt::models::llama;
using vlprompt::testing::error_of;

std::string fixture(const std::string& rel) {
  return std::string(VLPROMPT_FIXTURE_DIR) + "/spm/" + rel;
}

nlohmann::json expected() {
  return nlohmann::json::parse(vlprompt::core::read_file(fixture("expected.json")));
}

// A scratch folder holding the fixture's tokenizer.model and the given JSON files.
std::string folder_with(const std::string& name, const nlohmann::json& config,
                        const nlohmann::json& tokenizer_config) {
  const std::string dir = vlprompt::testing::scratch_dir(name);
  fs::copy_file(fixture("model_only/tokenizer.model"), dir + "/tokenizer.model",
                fs::copy_options::overwrite_existing);
  fs::remove(dir + "/config.json");
  fs::remove(dir + "/tokenizer_config.json");
  if (!config.is_null()) vlprompt::core::atomic_write(dir + "/config.json", config.dump());
  if (!tokenizer_config.is_null()) {
    vlprompt::core::atomic_write(dir + "/tokenizer_config.json", tokenizer_config.dump());
  }
  return dir;
}

// Every test needs the sentencepiece module, absent from a -DVLPROMPT_WITH_SENTENCEPIECE=OFF build.
class LlamaTokenizer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!vlprompt::text::sentencepiece_built()) GTEST_SKIP() << "built without sentencepiece";
  }
};

TEST_F(LlamaTokenizer, AddsBosByDefaultAndMatchesPythonIds) {
  const auto tok = llm::LlamaTokenizer::load(fixture("llama"));
  const nlohmann::json ref = expected();
  EXPECT_TRUE(tok->add_bos());
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->pad_id(), -1);
  EXPECT_EQ(tok->vocab_size(), ref["vocab_size"].get<int64_t>());
  EXPECT_EQ(tok->path(), fixture("llama") + "/tokenizer.model");
  EXPECT_EQ(tok->piece(1), "<s>");
  for (const auto& c : ref["cases"]) {
    const std::string text = c["text"];
    std::vector<int64_t> want = c["ids"];
    EXPECT_EQ(tok->encode(text, false), want) << text;
    want.insert(want.begin(), 1);
    const std::vector<int64_t> ids = tok->encode(text);
    EXPECT_EQ(ids, want) << text;
    EXPECT_EQ(tok->decode(ids), text) << "BOS is skipped when decoding";
  }
  EXPECT_EQ(tok->encode(""), std::vector<int64_t>{1});
}

TEST_F(LlamaTokenizer, TokenizerConfigTurnsBosOffAndEosOn) {
  const auto tok = llm::LlamaTokenizer::load(fixture("llama_no_bos"));
  EXPECT_FALSE(tok->add_bos());
  EXPECT_TRUE(tok->add_eos());
  const nlohmann::json c = expected()["cases"][0];
  std::vector<int64_t> want = c["ids"];
  want.push_back(2);
  EXPECT_EQ(tok->encode(c["text"].get<std::string>()), want);
  EXPECT_EQ(tok->encode("", true), std::vector<int64_t>{2});
  EXPECT_TRUE(tok->encode("", false).empty());
}

TEST_F(LlamaTokenizer, DecodeKeepsSpecialPiecesWhenAsked) {
  const auto tok = llm::LlamaTokenizer::load(fixture("llama"));
  std::vector<int64_t> ids = tok->encode("a photo of a cat.");
  ids.push_back(tok->eos_id());
  EXPECT_EQ(tok->decode(ids), "a photo of a cat.");
  EXPECT_EQ(tok->decode(ids, false), "<s>a photo of a cat.</s>");
}

TEST_F(LlamaTokenizer, ModelOnlyFolderUsesTheModelsSpecialIds) {
  const auto tok = llm::LlamaTokenizer::load(fixture("model_only"));
  EXPECT_TRUE(tok->add_bos());
  EXPECT_EQ(tok->bos_id(), expected()["bos_id"].get<int64_t>());
  EXPECT_EQ(tok->eos_id(), expected()["eos_id"].get<int64_t>());
}

TEST_F(LlamaTokenizer, ConfigJsonSpecialIdsWin) {
  // bos 5 / eos 6 are byte pieces in this model: only config.json can make them special.
  const std::string dir =
      folder_with("llama_tok_ids", {{"bos_token_id", 5}, {"eos_token_id", {6, 2}}}, nullptr);
  const auto tok = llm::LlamaTokenizer::load(dir);
  EXPECT_EQ(tok->bos_id(), 5);
  EXPECT_EQ(tok->eos_id(), 6);
  EXPECT_EQ(tok->encode("a").front(), 5);
}

TEST_F(LlamaTokenizer, VocabLargerThanConfigIsAnErrorNamingBothFiles) {
  const std::string dir = folder_with("llama_tok_vocab", {{"vocab_size", 100}}, nullptr);
  const std::string m = error_of([&] { llm::LlamaTokenizer::load(dir); });
  EXPECT_NE(m.find(dir + "/tokenizer.model"), std::string::npos) << m;
  EXPECT_NE(m.find(dir + "/config.json"), std::string::npos) << m;
  EXPECT_NE(m.find("100"), std::string::npos) << m;
  // Equal or larger (padded embeddings) is fine.
  const int64_t n = expected()["vocab_size"];
  EXPECT_NO_THROW(
      llm::LlamaTokenizer::load(folder_with("llama_tok_vocab_eq", {{"vocab_size", n}}, nullptr)));
}

TEST_F(LlamaTokenizer, MissingOrCorruptFilesNameTheFile) {
  const std::string empty = vlprompt::testing::scratch_dir("llama_tok_empty");
  fs::remove(empty + "/tokenizer.model");
  try {
    llm::LlamaTokenizer::load(empty);
    ADD_FAILURE() << "expected FileError";
  } catch (const vlprompt::FileError& e) {
    EXPECT_EQ(e.path(), empty + "/tokenizer.model");
  }
  const std::string corrupt = vlprompt::testing::scratch_dir("llama_tok_corrupt");
  vlprompt::core::atomic_write(corrupt + "/tokenizer.model", std::string(64, '\x07'));
  try {
    llm::LlamaTokenizer::load(corrupt);
    ADD_FAILURE() << "expected FileError";
  } catch (const vlprompt::FileError& e) {
    EXPECT_EQ(e.path(), corrupt + "/tokenizer.model") << e.what();
  }
  const std::string bad_flag = folder_with("llama_tok_flag", nullptr, {{"add_bos_token", "yes"}});
  const std::string m = error_of([&] { llm::LlamaTokenizer::load(bad_flag); });
  EXPECT_NE(m.find("tokenizer_config.json"), std::string::npos) << m;
  EXPECT_NE(m.find("add_bos_token"), std::string::npos) << m;
}

}  // namespace llama_tokenizer_test
