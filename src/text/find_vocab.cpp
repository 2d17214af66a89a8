#include <cstdlib>
#include <filesystem>

#include "src/core/error.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::text {
namespace fs = std::filesystem;

namespace {
constexpr const char* kOpenAiVocabName = "bpe_simple_vocab_16e6.txt.gz";
}

std::string bundled_vocab() { return VLPROMPT_BUNDLED_VOCAB; }

std::string find_vocab(const std::string& explicit_path, const std::string& model_path,
                       const std::string& bundled) {
  if (!explicit_path.empty()) {
    if (!fs::exists(explicit_path)) {
      throw FileError(
          explicit_path,
          std::string("vocabulary not found (expected ") + kOpenAiVocabName +
              ", a Hugging Face vocab.json with merges.txt beside it, or their folder)");
    }
    return explicit_path;
  }
  std::vector<std::string> looked_in;
  if (!model_path.empty()) {
    const fs::path model(model_path);
    const fs::path folder = fs::is_directory(model) ? model : model.parent_path();
    const fs::path openai = folder / kOpenAiVocabName;
    if (fs::is_regular_file(openai)) return openai.string();
    looked_in.push_back(openai.string());
    const fs::path hf_vocab = folder / "vocab.json";
    if (fs::is_regular_file(hf_vocab) && fs::is_regular_file(folder / "merges.txt")) {
      return hf_vocab.string();
    }
    looked_in.push_back((folder / "vocab.json").string() + " + merges.txt");
  }
  if (const char* home = std::getenv("VLPROMPT_HOME"); home && *home) {
    const fs::path openai = fs::path(home) / kOpenAiVocabName;
    if (fs::is_regular_file(openai)) return openai.string();
    looked_in.push_back(openai.string());
  } else {
    looked_in.push_back(std::string("$VLPROMPT_HOME/") + kOpenAiVocabName +
                        " (VLPROMPT_HOME is not set)");
  }
  if (!bundled.empty()) {
    if (fs::is_regular_file(bundled)) return bundled;
    looked_in.push_back(bundled + " (the copy shipped in models/vocab/)");
  }
  std::string places;
  for (const std::string& place : looked_in) places += "\n  " + place;
  throw Error(std::string("no CLIP tokenizer vocabulary found; looked in:") + places +
              "\nPass --vocab FILE (" + kOpenAiVocabName +
              " from OpenAI's CLIP repository, or a Hugging Face folder with vocab.json + "
              "merges.txt), put it beside the model, or set VLPROMPT_HOME to a folder holding " +
              kOpenAiVocabName + ".");
}

}  // namespace vlprompt::text
