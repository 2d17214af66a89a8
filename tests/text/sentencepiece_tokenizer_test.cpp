// SentencePieceTokenizer (the dlopen()ed vlprompt_spm module) against Google's python
// sentencepiece on a model that Debian's spm_train made (tests/fixtures/make_spm_fixtures.py):
// exact ids and pieces, byte fallback, decode round trips, errors naming the file, and use in
// one process with LibTorch (whose protobuf clashes with sentencepiece's when linked together).
#include "src/text/sentencepiece_tokenizer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "src/core/file_io.h"
#include "tests/test_support.h"

namespace sentencepiece_test {

using vlprompt::testing::error_of;
using vlprompt::text::SentencePieceTokenizer;

std::string fixture(const std::string& rel) {
  return std::string(VLPROMPT_FIXTURE_DIR) + "/spm/" + rel;
}

nlohmann::json expected() {
  return nlohmann::json::parse(vlprompt::core::read_file(fixture("expected.json")));
}

SentencePieceTokenizer tokenizer() {
  return SentencePieceTokenizer::from_file(fixture("model_only/tokenizer.model"));
}

// Every test needs the sentencepiece module, absent from a -DVLPROMPT_WITH_SENTENCEPIECE=OFF build.
class SentencePiece : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!vlprompt::text::sentencepiece_built()) GTEST_SKIP() << "built without sentencepiece";
  }
};

TEST_F(SentencePiece, IdsMatchPythonSentencepieceExactly) {
  const auto tok = tokenizer();
  const nlohmann::json ref = expected();
  ASSERT_GE(ref["cases"].size(), 10u);
  for (const auto& c : ref["cases"]) {
    const std::vector<int64_t> want = c["ids"];
    EXPECT_EQ(tok.encode(c["text"].get<std::string>()), want) << c["text"];
  }
}

TEST_F(SentencePiece, PiecesAndSpecialIdsMatch) {
  const auto tok = tokenizer();
  const nlohmann::json ref = expected();
  EXPECT_EQ(tok.vocab_size(), ref["vocab_size"].get<int64_t>());
  EXPECT_EQ(tok.bos_id(), ref["bos_id"].get<int64_t>());
  EXPECT_EQ(tok.eos_id(), ref["eos_id"].get<int64_t>());
  EXPECT_EQ(tok.unk_id(), ref["unk_id"].get<int64_t>());
  EXPECT_EQ(tok.pad_id(), -1);  // LLaMA's options: no pad piece
  for (const auto& [id, piece] : ref["pieces"].items()) {
    EXPECT_EQ(tok.piece(std::stoll(id)), piece.get<std::string>()) << id;
    EXPECT_EQ(tok.piece_id(piece.get<std::string>()), std::stoll(id)) << piece;
  }
  for (const auto& c : ref["cases"]) {
    const std::vector<std::string> pieces = c["pieces"];
    const std::vector<int64_t> ids = c["ids"];
    for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(tok.piece(ids[i]), pieces[i]) << c["text"];
  }
  EXPECT_TRUE(tok.is_control(tok.bos_id()));
  EXPECT_TRUE(tok.is_unknown(tok.unk_id()));
  EXPECT_EQ(tok.piece_id("no such piece"), tok.unk_id());
}

TEST_F(SentencePiece, ByteFallbackEncodesUnseenCharactersAndDecodesThemBack) {
  const auto tok = tokenizer();
  const nlohmann::json ref = expected();
  int with_bytes = 0;
  for (const auto& c : ref["cases"]) {
    const std::string text = c["text"];
    const std::vector<int64_t> ids = tok.encode(text);
    EXPECT_EQ(tok.decode(ids), c["decoded"].get<std::string>()) << text;
    EXPECT_EQ(tok.decode(ids), text) << "round trip";
    bool any_byte = false;
    for (const int64_t id : ids) {
      any_byte = any_byte || tok.is_byte(id);
      EXPECT_FALSE(tok.is_unknown(id)) << text << ": byte fallback leaves no unknown id";
    }
    EXPECT_EQ(any_byte, c["has_byte"].get<bool>()) << text;
    with_bytes += any_byte;
  }
  EXPECT_GE(with_bytes, 3);  // CJK, emoji, Greek the training text never had
  // "東" is E6 9D B1 in UTF-8: three byte pieces after the word-start piece.
  const std::vector<int64_t> ids = tok.encode("東");
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(tok.piece(ids[1]), "<0xE6>");
  EXPECT_EQ(tok.piece(ids[3]), "<0xB1>");
}

TEST_F(SentencePiece, MissingAndCorruptModelsNameTheFile) {
  const std::string missing = vlprompt::testing::scratch_dir("spm_missing") + "/tokenizer.model";
  std::filesystem::remove(missing);
  const std::string m = error_of([&] { SentencePieceTokenizer::from_file(missing); });
  EXPECT_NE(m.find(missing), std::string::npos) << m;
  EXPECT_NE(m.find("not found"), std::string::npos) << m;
  try {
    SentencePieceTokenizer::from_file(missing);
  } catch (const vlprompt::FileError& e) {
    EXPECT_EQ(e.path(), missing);
  }

  const std::string corrupt = vlprompt::testing::scratch_dir("spm_corrupt") + "/tokenizer.model";
  vlprompt::core::atomic_write(corrupt, "this is not a sentencepiece model\n");
  const std::string c = error_of([&] { SentencePieceTokenizer::from_file(corrupt); });
  EXPECT_NE(c.find(corrupt), std::string::npos) << c;
  EXPECT_NE(c.find("not a readable sentencepiece model"), std::string::npos) << c;
}

TEST_F(SentencePiece, IdsOutsideTheVocabularyAreErrors) {
  const auto tok = tokenizer();
  const std::string m = error_of([&] { tok.decode({5, tok.vocab_size()}); });
  EXPECT_NE(m.find(std::to_string(tok.vocab_size())), std::string::npos) << m;
  EXPECT_NE(m.find("tokenizer.model"), std::string::npos) << m;
  error_of([&] { tok.piece(-1); });
}

// This executable links LibTorch: tokenizing here and using the ids as tensors is the check that
// the isolated module does not disturb LibTorch's protobuf (a linked libsentencepiece crashes
// before main).
TEST_F(SentencePiece, WorksInOneProcessWithLibTorch) {
  const auto tok = tokenizer();
  const std::vector<int64_t> ids = tok.encode("a photo of a cat.");
  const at::Tensor t = at::tensor(ids, at::kLong);
  const at::Tensor table = at::arange(tok.vocab_size() * 2, at::kFloat).reshape({-1, 2});
  const at::Tensor rows = at::embedding(table, t);
  ASSERT_EQ(rows.size(0), static_cast<int64_t>(ids.size()));
  EXPECT_EQ(rows[0][1].item<float>(), static_cast<float>(ids[0] * 2 + 1));
}

TEST_F(SentencePiece, ModuleIsFoundAndAWrongEnvironmentPathIsAnError) {
  const std::string found = vlprompt::text::find_spm_module();
  EXPECT_TRUE(std::filesystem::exists(found)) << found;
  const char* old = std::getenv("VLPROMPT_SPM_MODULE");
  const std::string saved = old ? old : "";
  setenv("VLPROMPT_SPM_MODULE", "/nonexistent/libvlprompt_spm.so", 1);
  const std::string m = error_of([] { vlprompt::text::find_spm_module(); });
  if (old) {
    setenv("VLPROMPT_SPM_MODULE", saved.c_str(), 1);
  } else {
    unsetenv("VLPROMPT_SPM_MODULE");
  }
  EXPECT_NE(m.find("/nonexistent/libvlprompt_spm.so"), std::string::npos) << m;
  EXPECT_NE(m.find("VLPROMPT_SPM_MODULE"), std::string::npos) << m;
}

}  // namespace sentencepiece_test
