// Where a Hugging Face LLaMA folder keeps its tensors (model.safetensors, or the shards that
// model.safetensors.index.json's weight_map names) and what their safetensors headers say, read
// before any tensor data or the model: config.json's sizes are matched against the shapes there,
// so a config asking for a million layers is refused instead of allocated.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "models/llama/llama_config.h"
#include "src/core/safetensors.h"

namespace vlprompt::models::llama {

struct WeightFile {
  std::string path;
  std::optional<std::set<std::string>> only;  // the index's names for this shard
};

struct WeightFiles {
  std::vector<WeightFile> files;
  std::string source;  // model.safetensors, or the index that lists the shards
};

// FileError naming the folder when it holds neither file, or the index for a bad weight_map.
WeightFiles locate_weight_files(const std::string& folder);

// Each tensor's dtype and shape with its file, from the headers alone. FileError naming the file
// for a tensor of a dtype other than F32, F16 or BF16, or one that appears in two files.
struct WeightHeaders {
  std::map<std::string, core::TensorInfo> info;
  std::map<std::string, std::string> file_of;
  std::string source;
};
WeightHeaders read_weight_headers(const WeightFiles& files);

// FileError naming `config_path`, the key, its value and the tensor (with its file and shape) that
// says otherwise: vocab_size and hidden_size against the token embedding, num_hidden_layers
// against the layers present, intermediate_size and num_key_value_heads against layer 0, and
// tie_word_embeddings against lm_head.weight.
void check_config_against_weights(const LlamaConfig& config, const WeightHeaders& headers,
                                  const std::string& config_path);

}  // namespace vlprompt::models::llama
