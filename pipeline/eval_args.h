// The arguments of `vlprompt eval`, for a delta of either model kind.
#pragma once

#include <cstdint>
#include <string>

#include "pipeline/model_loading.h"

namespace vlprompt::pipeline {

struct EvalArgs {
  std::string delta;  // the delta file
  ModelArgs model;    // CLIP: .pt / HF folder / .safetensors / config name; LM: the LLaMA folder
  std::string dataset, data_root, subsample = "all", split = "test", device = "cpu", out;
  std::string domain;  // domain-adaptation deltas: whose prompts classify ("" = the target)
  int64_t batch_size = 64;
};

}  // namespace vlprompt::pipeline
