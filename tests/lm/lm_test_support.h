// Tiny LLaMA models with seeded random weights and a fake tokenizer for the text-LM delta tests.
#pragma once

#include <ATen/ATen.h>
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "models/llama/llama_model.h"
#include "prompts/registry.h"
#include "src/core/config.h"

namespace lm_test_support {

// 2 layers, hidden 16, 4 heads (head_dim 4), `kv_heads` key/value heads, vocab 40, BOS 1.
inline vlprompt::models::llama::LlamaModel tiny_llama(int64_t kv_heads = 2, uint64_t seed = 7) {
  vlprompt::models::llama::LlamaConfig c;
  c.hidden_size = 16;
  c.intermediate_size = 32;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = kv_heads;
  c.vocab_size = 40;
  c.bos_token_id = 1;
  c.eos_token_id = 2;
  torch::manual_seed(seed);
  vlprompt::models::llama::LlamaModel model(c);
  for (auto& p : model->parameters()) p.set_requires_grad(false);
  model->eval();
  return model;
}

// A fake tokenizer: each byte is one token, 'a' -> 3, 'b' -> 4, ... 'z' -> 28, any other byte
// into 29..39 (no BOS).
inline std::vector<int64_t> fake_encode(const std::string& text) {
  std::vector<int64_t> ids;
  for (unsigned char ch : text)
    ids.push_back(ch >= 'a' && ch <= 'z' ? 3 + (ch - 'a') : 29 + ch % 11);
  return ids;
}

inline vlprompt::prompts::LmMethodContext context(vlprompt::models::llama::LlamaModel model,
                                                  uint64_t seed = 0) {
  vlprompt::prompts::LmMethodContext c;
  c.model = std::move(model);
  c.encode = fake_encode;
  c.seed = seed;
  return c;
}

inline vlprompt::core::ResolvedConfig config(const std::map<std::string, std::string>& keys) {
  return vlprompt::core::config_from_strings(keys, "test");
}

// A fixed batch of token ids [4, 6] in the tiny vocabulary.
inline at::Tensor batch_ids() {
  return at::tensor(
             {1, 5, 9, 12, 7, 3, 1, 20, 21, 22, 23, 24, 1, 30, 8, 8, 8, 2, 1, 4, 6, 10, 14, 18},
             at::kLong)
      .view({4, 6});
}

inline double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

}  // namespace lm_test_support
