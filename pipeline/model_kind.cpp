#include "pipeline/model_kind.h"

#include <algorithm>
#include <filesystem>

#include "pipeline/lm_bundle.h"
#include "prompts/registry.h"

namespace vlprompt::pipeline {

bool names_llama_model(const std::string& model) {
  if (model.empty()) return false;
  const std::vector<std::string> shipped = shipped_lms();
  if (std::find(shipped.begin(), shipped.end(), model) != shipped.end()) return true;
  std::error_code ec;
  return std::filesystem::is_directory(model, ec) &&
         std::filesystem::exists(std::filesystem::path(model) / "config.json", ec);
}

const ModelKind& model_kind_of_method(const std::string& method, const std::string& model) {
  return prompts::is_lm_method(method, names_llama_model(model)) ? llama_kind() : clip_kind();
}

const ModelKind& model_kind_of(const delta::DeltaFile& file) {
  // An LM delta file records the LLaMA folder's sentencepiece model as its tokenizer
  // (prompts/lm/lm_delta_file.h); a CLIP one its BPE vocabulary.
  return prompts::is_lm_method(file.info.method, file.info.tokenizer == "tokenizer.model")
             ? llama_kind()
             : clip_kind();
}

}  // namespace vlprompt::pipeline
