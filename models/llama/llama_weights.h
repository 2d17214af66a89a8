// Loads a Hugging Face LLaMA-family folder: config.json plus model.safetensors, or the sharded
// model-0000k-of-0000n.safetensors named by model.safetensors.index.json's weight_map. F32, F16
// and BF16 tensors are converted to fp32 (the model computes in fp32 on CPU).
#pragma once

#include <string>

#include "models/llama/llama_model.h"
#include "src/core/safetensors.h"

namespace vlprompt::models::llama {

// The folder's tensors by HF name, each in fp32, with the file it came from. Throws FileError
// naming the file for an unreadable file, a bad index, a tensor of another dtype, or one holding
// a NaN or an infinity (named with its file).
struct LlamaTensors {
  core::TensorMap tensors;
  std::map<std::string, std::string> file_of;  // tensor name -> file path
  std::string source;       // model.safetensors, or the index that lists the shards
  core::Metadata metadata;  // model.safetensors's __metadata__ (of the first shard when sharded)
};
LlamaTensors read_llama_tensors(const std::string& folder);

// Copies `tensors` into `model`: every parameter must be present with its shape (FileError
// naming the tensor, the file and both shapes), and no tensor may be left over except rotary
// inv_freq buffers, which the model recomputes.
void load_llama_tensors(LlamaModel& model, const LlamaTensors& tensors, const std::string& folder);

// Config + weights; config.json's sizes are checked against the weight files' headers before the
// model is built (llama_weight_files.h). The model is in eval mode with no parameter requiring a
// gradient (frozen). `metadata`, when given, receives the weight file's __metadata__ (what it says
// of itself).
LlamaModel load_llama(const std::string& folder, core::Metadata* metadata = nullptr);

}  // namespace vlprompt::models::llama
