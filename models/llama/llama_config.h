// The shape of a LLaMA-family causal LM, read from a Hugging Face config.json
// (LlamaForCausalLM, or MistralForCausalLM, which differs only in these numbers).
#pragma once

#include <string>

namespace vlprompt::models::llama {

struct LlamaConfig {
  std::string architecture = "LlamaForCausalLM";
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // grouped-query attention; = heads when absent
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 2048;
  bool tie_word_embeddings = false;
  int64_t bos_token_id = -1;  // -1: the config names none
  int64_t eos_token_id = -1;

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  int64_t kv_width() const { return num_key_value_heads * head_dim(); }
};

// Parses config.json text; `path` names the file in errors. Throws FileError naming the key and
// value for an unsupported architecture, a missing or mistyped key, or inconsistent shapes
// (hidden_size not divisible by the heads, heads not divisible by the key/value heads, odd
// head dimension).
LlamaConfig llama_config_from_json(const std::string& text, const std::string& path);

// Reads DIR/config.json (FileError when absent or unreadable).
LlamaConfig read_llama_config(const std::string& folder);

}  // namespace vlprompt::models::llama
