#include "pipeline/lm_bundle.h"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "models/clip/load_clip.h"
#include "models/llama/llama_weights.h"
#include "prompts/lm/lm_delta_file.h"
#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::pipeline {

namespace fs = std::filesystem;

std::vector<std::string> shipped_lms() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(models::pretrained_dir(), ec)) {
    if (entry.is_directory(ec) && fs::is_regular_file(entry.path() / "config.json", ec))
      names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string resolve_lm_folder(const std::string& model) {
  std::error_code ec;
  if (model.empty() || model.find('/') != std::string::npos || fs::exists(model, ec)) return model;
  const std::string shipped = models::pretrained_dir() + "/" + model;
  return fs::is_regular_file(shipped + "/config.json", ec) ? shipped : model;
}

void check_vocab_fits_tokenizer(const std::string& folder,
                                const models::llama::LlamaTokenizer& tokenizer) {
  // An embedding padded past the pieces is common (rows up to a multiple of 64) and harmless:
  // generation never picks those ids (GenerateOptions::vocab_limit). Fewer rows than pieces is
  // refused by LlamaTokenizer::load; far more is a config that belongs to another tokenizer.
  const int64_t vocab = models::llama::read_llama_config(folder).vocab_size;
  const int64_t pieces = tokenizer.vocab_size();
  const int64_t padding = std::max<int64_t>(256, pieces / 8);
  if (vocab > pieces + padding)
    throw FileError(folder + "/config.json",
                    "key 'vocab_size' is " + std::to_string(vocab) + ", but " + tokenizer.path() +
                        " has " + std::to_string(pieces) +
                        " pieces (expected equal, or padded by at most " + std::to_string(padding) +
                        " rows: the weights belong to another tokenizer)");
}

LmBundle load_lm_bundle(const std::string& model) {
  const std::string folder = resolve_lm_folder(model);
  if (!core::file_exists(folder + "/config.json")) {
    std::string names;
    for (const auto& n : shipped_lms()) names += (names.empty() ? "" : ", ") + n;
    throw FileError(folder,
                    "not a Hugging Face LLaMA folder: no config.json in it (nor the name "
                    "of a shipped language model: " +
                        (names.empty() ? std::string("none") : names) + ")");
  }
  LmBundle b;
  b.folder = folder;
  b.name = fs::path(folder).lexically_normal().filename().string();
  if (b.name.empty()) b.name = fs::path(folder).parent_path().filename().string();
  b.tokenizer = models::llama::LlamaTokenizer::load(folder);
  check_vocab_fits_tokenizer(folder, *b.tokenizer);
  core::Metadata metadata;
  b.model = models::llama::load_llama(folder, &metadata);
  b.provenance = models::weights::provenance_from_metadata(
      metadata, fs::path(folder + "/model.safetensors").lexically_normal().string());
  b.fingerprint = prompts::lm::llama_fingerprint(b.model);
  return b;
}

std::vector<int64_t> encode_plain(const models::llama::LlamaTokenizer& tokenizer,
                                  const std::string& text) {
  return tokenizer.encode(text, /*add_special=*/false);
}

}  // namespace vlprompt::pipeline
