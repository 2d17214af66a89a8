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

std::string scratch(const std::string& name) {
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
  const std::string given = scratch("explicit/bpe.txt.gz");
  std::filesystem::remove(given);  // left by an earlier run
  EXPECT_THROW(find_vocab(given, ""), FileError);
  core::atomic_write(given, "x");
  EXPECT_EQ(find_vocab(given, scratch("model/whatever.pt")), given);
}

TEST(FindVocab, LooksBesideTheModelThenInAHuggingFaceFolderThenHome) {
  const std::string model_dir = scratch("beside");
  core::atomic_write(model_dir + "/model.pt", "x");
  core::atomic_write(model_dir + "/bpe_simple_vocab_16e6.txt.gz", "x");
  ScopedHome home(scratch("home"));
  EXPECT_EQ(find_vocab("", model_dir + "/model.pt"), model_dir + "/bpe_simple_vocab_16e6.txt.gz");

  const std::string hf = scratch("hf_model");
  core::atomic_write(hf + "/vocab.json", "{}");
  core::atomic_write(hf + "/merges.txt", "");
  EXPECT_EQ(find_vocab("", hf), hf + "/vocab.json");
  EXPECT_EQ(find_vocab("", hf + "/model.safetensors"), hf + "/vocab.json");

  core::atomic_write(scratch("home/bpe_simple_vocab_16e6.txt.gz"), "x");
  EXPECT_EQ(find_vocab("", scratch("nothing_here/model.pt")),
            scratch("home/bpe_simple_vocab_16e6.txt.gz"));
  EXPECT_EQ(find_vocab("", ""), scratch("home/bpe_simple_vocab_16e6.txt.gz"));
}

TEST(FindVocab, NothingFoundListsThePlacesLookedIn) {
  ScopedHome home(std::nullopt);
  try {
    find_vocab("", scratch("empty/model.pt"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(scratch("empty/bpe_simple_vocab_16e6.txt.gz")), std::string::npos) << msg;
    EXPECT_NE(msg.find(scratch("empty/vocab.json")), std::string::npos) << msg;
    EXPECT_NE(msg.find("VLPROMPT_HOME is not set"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--vocab"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace vlprompt::text
