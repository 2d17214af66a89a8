#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/text/clip_tokenizer.h"
#include "tests/test_support.h"

namespace vlprompt::text {
namespace {

std::string vocab_scratch(const std::string& name) {
  return vlprompt::testing::scratch_dir("text/find_vocab") + "/" + name;
}

// Sets (or unsets) VLPROMPT_HOME for one test and restores it afterwards.
class ScopedHome {
 public:
  explicit ScopedHome(const std::optional<std::string>& value) {
    if (const char* old = std::getenv("VLPROMPT_HOME")) old_ = old;
    if (value) {
      setenv("VLPROMPT_HOME", value->c_str(), 1);
    } else {
      unsetenv("VLPROMPT_HOME");
    }
  }
  ~ScopedHome() {
    if (old_) {
      setenv("VLPROMPT_HOME", old_->c_str(), 1);
    } else {
      unsetenv("VLPROMPT_HOME");
    }
  }

 private:
  std::optional<std::string> old_;
};

TEST(FindVocab, ExplicitPathMustExist) {
  const std::string given = vocab_scratch("explicit/bpe.txt.gz");
  std::filesystem::remove(given);  // left by an earlier run
  EXPECT_THROW(find_vocab(given, ""), FileError);
  core::atomic_write(given, "x");
  EXPECT_EQ(find_vocab(given, vocab_scratch("model/whatever.pt")), given);
}

TEST(FindVocab, LooksBesideTheModelThenInAHuggingFaceFolderThenHome) {
  const std::string model_dir = vocab_scratch("beside");
  core::atomic_write(model_dir + "/model.pt", "x");
  core::atomic_write(model_dir + "/bpe_simple_vocab_16e6.txt.gz", "x");
  ScopedHome home(vocab_scratch("home"));
  EXPECT_EQ(find_vocab("", model_dir + "/model.pt"), model_dir + "/bpe_simple_vocab_16e6.txt.gz");

  const std::string hf = vocab_scratch("hf_model");
  core::atomic_write(hf + "/vocab.json", "{}");
  core::atomic_write(hf + "/merges.txt", "");
  EXPECT_EQ(find_vocab("", hf), hf + "/vocab.json");
  EXPECT_EQ(find_vocab("", hf + "/model.safetensors"), hf + "/vocab.json");

  core::atomic_write(vocab_scratch("home/bpe_simple_vocab_16e6.txt.gz"), "x");
  EXPECT_EQ(find_vocab("", vocab_scratch("nothing_here/model.pt")),
            vocab_scratch("home/bpe_simple_vocab_16e6.txt.gz"));
  EXPECT_EQ(find_vocab("", ""), vocab_scratch("home/bpe_simple_vocab_16e6.txt.gz"));
}

TEST(FindVocab, NothingFoundListsThePlacesLookedIn) {
  ScopedHome home(std::nullopt);
  try {
    find_vocab("", vocab_scratch("empty/model.pt"), vocab_scratch("empty/no_bundled_copy.txt.gz"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(vocab_scratch("empty/bpe_simple_vocab_16e6.txt.gz")), std::string::npos)
        << msg;
    EXPECT_NE(msg.find(vocab_scratch("empty/vocab.json")), std::string::npos) << msg;
    EXPECT_NE(msg.find("VLPROMPT_HOME is not set"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--vocab"), std::string::npos) << msg;
    EXPECT_NE(msg.find(vocab_scratch("empty/no_bundled_copy.txt.gz")), std::string::npos) << msg;
  }
}

TEST(FindVocab, FallsBackToTheShippedCopy) {
  ScopedHome home(std::nullopt);
  const std::string found = find_vocab("", vocab_scratch("empty/model.pt"));
  EXPECT_EQ(found, vlprompt::testing::source_path("models/vocab/bpe_simple_vocab_16e6.txt.gz"));
  // The shipped file is CLIP's: known ids of CLIP's vocabulary (start 49406, "a" 320, "photo"
  // 1125, "of" 539, "cat" 2368, "." 269, end 49407).
  const auto tok = ClipTokenizer::from_file(found);
  const at::Tensor ids = tok.tokenize({"a photo of a cat."}, 77);
  const std::vector<int64_t> expected = {49406, 320, 1125, 539, 320, 2368, 269, 49407, 0};
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(ids[0][i].item<int64_t>(), expected[i]);
}

}  // namespace
}  // namespace vlprompt::text
