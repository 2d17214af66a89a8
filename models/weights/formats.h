// Per-format readers and writers behind read_weights / write_weights (internal to
// models/weights). Readers return canonical tensors; writers take tensors already checked
// against `config`.
#pragma once

#include <string>

#include "models/weights/weights.h"

namespace vlprompt::models::weights::detail {

// OpenAI TorchScript archive (openai_pt.cpp).
core::TensorMap read_openai_pt(const std::string& path);
void write_openai_pt(const std::string& path, const core::TensorMap& tensors);

// Hugging Face CLIP folder: config.json + model.safetensors (hf_clip.cpp, hf_config.cpp).
LoadedWeights read_hf_clip(const std::string& dir);
void write_hf_clip(const std::string& dir, const core::TensorMap& tensors,
                   const ClipConfig& config);

// vlprompt .safetensors: canonical names + architecture in __metadata__ (vlprompt_format.cpp).
LoadedWeights read_vlprompt(const std::string& path);
void write_vlprompt(const std::string& path, const core::TensorMap& tensors,
                    const ClipConfig& config, const std::string& source,
                    const Provenance& provenance);

}  // namespace vlprompt::models::weights::detail
