// `vlprompt merge`: folds a trained weight-space delta (LoRA, IA3, BitFit, LN tuning, or a stack
// of them) into the frozen model's weights and writes a model in the input's own format: a
// Hugging Face folder for a LLaMA (its tokenizer files copied, so it loads on its own), a vlprompt
// .safetensors for CLIP. The merged model computes what the model with the delta computes, up to
// rounding (nn::merge_linear). Deltas that are not a weight change (prompts, adapters) are refused
// by name, as are terms the format has no place for (a bias on a LLaMA projection or RMSNorm).
#pragma once

#include <string>

#include "pipeline/model_loading.h"

namespace vlprompt::pipeline {

struct MergeRequest {
  std::string delta;
  ModelArgs model;
  std::string out;
};

// Returns what was written, for the user.
std::string merge_delta(const MergeRequest& request);

}  // namespace vlprompt::pipeline
