// Text generation with a frozen LLaMA-family model and optional delta sites: greedy by default,
// or temperature sampling with nucleus (top-p) filtering from a seeded generator. With the key/
// value cache each new token costs one position; without it (for checks and benchmarks) every
// step reruns the whole sequence. Both give the same tokens.
#pragma once

#include <ATen/ATen.h>
#include <torch/arg.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "models/llama/llama_model.h"
#include "src/nn/delta_sites.h"

namespace vlprompt::models::llama {

struct GenerateOptions {
  TORCH_ARG(int64_t, max_new_tokens) = 64;
  // 0: greedy (argmax). Otherwise logits / temperature are sampled.
  TORCH_ARG(double, temperature) = 0.0;
  // Nucleus sampling: keep the most likely tokens whose probabilities sum to at least top_p
  // (at least one), as Hugging Face's TopPLogitsWarper. 1 keeps all.
  TORCH_ARG(double, top_p) = 1.0;
  TORCH_ARG(uint64_t, seed) = 0;
  TORCH_ARG(bool, use_cache) = true;
  // Generation stops after this token (the model's EOS); -1 never stops early.
  TORCH_ARG(int64_t, stop_token) = -1;
  // Ids at or past this are never picked (0: no limit). A model's embedding may be padded past
  // its tokenizer's pieces (to a multiple of 64, say); those rows decode to nothing.
  TORCH_ARG(int64_t, vocab_limit) = 0;
};

// The next token from the last position's logits [vocab] (greedy or sampled).
int64_t pick_token(const at::Tensor& logits, const GenerateOptions& options,
                   at::Generator& generator);

// Generates after `prompt` (token ids, BOS included as the tokenizer adds it). `on_token` sees
// each new token as it is chosen (streaming). Returns the new tokens only.
std::vector<int64_t> generate(LlamaModel& model, const std::vector<int64_t>& prompt,
                              nn::DeltaSites* sites, const GenerateOptions& options,
                              const std::function<void(int64_t)>& on_token = {});

}  // namespace vlprompt::models::llama
