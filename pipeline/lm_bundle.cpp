#include "pipeline/lm_bundle.h"

#include <filesystem>
#include <iostream>

#include "models/llama/llama_weights.h"
#include "prompts/lm/lm_delta_file.h"
#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::pipeline {

LmBundle load_lm_bundle(const std::string& folder) {
  if (!core::file_exists(folder + "/config.json"))
    throw FileError(folder, "not a Hugging Face LLaMA folder: no config.json in it");
  LmBundle b;
  b.folder = folder;
  b.name = std::filesystem::path(folder).lexically_normal().filename().string();
  if (b.name.empty()) b.name = std::filesystem::path(folder).parent_path().filename().string();
  b.model = models::llama::load_llama(folder);
  b.tokenizer = models::llama::LlamaTokenizer::load(folder);
  b.fingerprint = prompts::lm::llama_fingerprint(b.model);
  return b;
}

std::vector<int64_t> encode_plain(const models::llama::LlamaTokenizer& tokenizer,
                                  const std::string& text) {
  return tokenizer.encode(text, /*add_special=*/false);
}

}  // namespace vlprompt::pipeline
