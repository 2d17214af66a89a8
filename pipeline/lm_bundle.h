// A frozen LLaMA-family model with its tokenizer, as every text-LM subcommand loads it from a
// Hugging Face folder (config.json, model*.safetensors, tokenizer.model) or by the name of a
// folder that ships in models/pretrained (`--model tiny-pretrained-lm`).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/llama/llama_model.h"
#include "models/llama/llama_tokenizer.h"
#include "models/weights/weights.h"

namespace vlprompt::pipeline {

struct LmBundle {
  models::llama::LlamaModel model{nullptr};
  std::shared_ptr<const models::llama::LlamaTokenizer> tokenizer;
  std::string folder;
  std::string name;                        // the folder's base name ("tiny", "Llama-2-7b-hf")
  std::string fingerprint;                 // of the weights: delta files record it
  models::weights::Provenance provenance;  // what model.safetensors's __metadata__ says
};

// The language models that ship with the project: folders of models::pretrained_dir() holding a
// config.json, sorted.
std::vector<std::string> shipped_lms();

// A shipped model's name -> its folder; a path (or anything else) unchanged.
std::string resolve_lm_folder(const std::string& model);

// FileError naming config.json unless its vocab_size equals the tokenizer's piece count: a model
// that generates must be able to decode every id it can pick.
void check_vocab_fits_tokenizer(const std::string& folder,
                                const models::llama::LlamaTokenizer& tokenizer);

// `model` is a folder or a shipped model's name. Error naming the folder when it is not a LLaMA
// folder (no config.json, no tokenizer.model), or when config.json's vocab_size is not the
// tokenizer's piece count (checked before the model is built).
LmBundle load_lm_bundle(const std::string& model);

// The text without BOS/EOS, as label words and initialisation texts are tokenized.
std::vector<int64_t> encode_plain(const models::llama::LlamaTokenizer& tokenizer,
                                  const std::string& text);

}  // namespace vlprompt::pipeline
