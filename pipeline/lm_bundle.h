// A frozen LLaMA-family model with its tokenizer, as every text-LM subcommand loads it from a
// Hugging Face folder (config.json, model*.safetensors, tokenizer.model).
#pragma once

#include <memory>
#include <string>

#include "models/llama/llama_model.h"
#include "models/llama/llama_tokenizer.h"

namespace vlprompt::pipeline {

struct LmBundle {
  models::llama::LlamaModel model{nullptr};
  std::shared_ptr<const models::llama::LlamaTokenizer> tokenizer;
  std::string folder;
  std::string name;         // the folder's base name ("tiny", "Llama-2-7b-hf")
  std::string fingerprint;  // of the weights: delta files record it
};

// Error naming the folder when it is not a LLaMA folder (no config.json, no tokenizer.model).
LmBundle load_lm_bundle(const std::string& folder);

// The text without BOS/EOS, as label words and initialisation texts are tokenized.
std::vector<int64_t> encode_plain(const models::llama::LlamaTokenizer& tokenizer,
                                  const std::string& text);

}  // namespace vlprompt::pipeline
