// `vlprompt bench lm-step`: text deltas on a LLaMA-shaped model with random weights, CPU fp32.
// One training step (forward + backward + nothing else) of Prompt Tuning and Prefix Tuning
// against the step full fine-tuning pays (every weight's gradient), each with its peak memory,
// and greedy generation with and without the key/value cache.
#pragma once

#include <nlohmann/json.hpp>

#include "models/llama/llama_config.h"

namespace vlprompt::pipeline {

struct LmBenchOptions {
  int64_t batch = 8;
  int64_t seq = 128;
  int64_t n_virtual = 20;
  int64_t prompt_tokens = 32;  // generation: prompt length ...
  int64_t new_tokens = 32;     // ... and tokens generated
  int warmup = 1;
  int iters = 3;
};

// The ~100M LLaMA shape of the issue: 12 layers, width 768, 12 heads, 4 kv heads, vocab 32000,
// SwiGLU width 2048.
models::llama::LlamaConfig bench_llama_config();

nlohmann::json bench_lm_step(const models::llama::LlamaConfig& config, const LmBenchOptions& o);

}  // namespace vlprompt::pipeline
