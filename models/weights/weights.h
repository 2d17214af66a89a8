// Reading and writing CLIP checkpoints in their real formats. Everything is mapped to one
// canonical naming, OpenAI's state-dict names, as fp32 CPU tensors. No model code here.
#pragma once

#include <optional>
#include <string>

#include "models/clip_config.h"
#include "src/core/safetensors.h"

namespace vlprompt::models::weights {

enum class Format { kOpenAIPt, kHuggingFace, kVlprompt };
std::string format_name(Format f);               // "openai-pt", "hf", "vlprompt"
Format parse_format(const std::string& name);    // inverse; Error listing valid names

struct LoadedWeights {
  core::TensorMap tensors;            // canonical names, fp32 (fp16 upcast), CPU
  std::optional<ClipConfig> config;   // when the file says its architecture (HF, vlprompt)
  Format format;
  std::string path;
  std::string vocab;                  // tokenizer file(s) found beside it, "" if none
};

// Detects the format (directory with config.json -> HF; .safetensors -> vlprompt; zip archive ->
// OpenAI .pt) and reads it. Malformed input throws FileError naming the file and the tensor.
LoadedWeights read_weights(const std::string& path);

// Writes `tensors` (canonical names) in `format` at `path` (a folder for HF), atomically.
void write_weights(const std::string& path, Format format, const core::TensorMap& tensors,
                   const ClipConfig& config);

// Architecture read off tensor shapes, as OpenAI's build_model does (heads = width / 64).
ClipConfig infer_config(const core::TensorMap& tensors);

}  // namespace vlprompt::models::weights
