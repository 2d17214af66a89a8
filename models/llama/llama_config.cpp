#include "models/llama/llama_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "src/core/error.h"

namespace vlprompt::models::llama {
namespace llama_config_detail {

using json = nlohmann::json;

// A key that must be present and integral (HF writes every shape as a JSON integer).
int64_t required_int(const json& j, const std::string& key, const std::string& path) {
  if (!j.contains(key) || j[key].is_null())
    throw FileError(path, "missing key '" + key + "' (an integer)");
  if (!j[key].is_number_integer())
    throw FileError(path, "key '" + key + "' is " + j[key].dump() + ", expected an integer");
  return j[key].get<int64_t>();
}

// Absent or null keys take the default, as transformers reads them.
int64_t optional_int(const json& j, const std::string& key, int64_t fallback,
                     const std::string& path) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  // eos_token_id may be a list (Llama 3); the first entry is the one generation stops on.
  if (j[key].is_array() && !j[key].empty() && j[key][0].is_number_integer())
    return j[key][0].get<int64_t>();
  if (!j[key].is_number_integer())
    throw FileError(path, "key '" + key + "' is " + j[key].dump() + ", expected an integer");
  return j[key].get<int64_t>();
}

double optional_number(const json& j, const std::string& key, double fallback,
                       const std::string& path) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number())
    throw FileError(path, "key '" + key + "' is " + j[key].dump() + ", expected a number");
  return j[key].get<double>();
}

void require_positive(int64_t value, const std::string& key, const std::string& path) {
  if (value <= 0)
    throw FileError(path, "key '" + key + "' is " + std::to_string(value) + ", expected > 0");
}

}  // namespace llama_config_detail

LlamaConfig llama_config_from_json(const std::string& text, const std::string& path) {
  using namespace llama_config_detail;
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw FileError(path, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw FileError(path, "expected a JSON object");
  LlamaConfig c;
  const json archs = j.value("architectures", json());
  bool known = false;
  if (archs.is_array()) {
    for (const auto& a : archs) {
      if (a == "LlamaForCausalLM" || a == "MistralForCausalLM") {
        known = true;
        c.architecture = a.get<std::string>();
      }
    }
  }
  if (!known)
    throw FileError(path, "key 'architectures' is " + archs.dump() +
                              ", expected a list containing LlamaForCausalLM or "
                              "MistralForCausalLM");
  c.hidden_size = required_int(j, "hidden_size", path);
  c.intermediate_size = required_int(j, "intermediate_size", path);
  c.num_hidden_layers = required_int(j, "num_hidden_layers", path);
  c.num_attention_heads = required_int(j, "num_attention_heads", path);
  c.vocab_size = required_int(j, "vocab_size", path);
  for (const auto& [key, value] : {std::pair<const char*, int64_t>{"hidden_size", c.hidden_size},
                                   {"intermediate_size", c.intermediate_size},
                                   {"num_hidden_layers", c.num_hidden_layers},
                                   {"num_attention_heads", c.num_attention_heads},
                                   {"vocab_size", c.vocab_size}})
    require_positive(value, key, path);
  c.num_key_value_heads = optional_int(j, "num_key_value_heads", c.num_attention_heads, path);
  require_positive(c.num_key_value_heads, "num_key_value_heads", path);
  c.rms_norm_eps = optional_number(j, "rms_norm_eps", 1e-6, path);
  c.rope_theta = optional_number(j, "rope_theta", 10000.0, path);
  c.max_position_embeddings = optional_int(j, "max_position_embeddings", 2048, path);
  c.bos_token_id = optional_int(j, "bos_token_id", -1, path);
  c.eos_token_id = optional_int(j, "eos_token_id", -1, path);
  if (j.contains("tie_word_embeddings") && !j["tie_word_embeddings"].is_null()) {
    if (!j["tie_word_embeddings"].is_boolean())
      throw FileError(path, "key 'tie_word_embeddings' is " + j["tie_word_embeddings"].dump() +
                                ", expected true or false");
    c.tie_word_embeddings = j["tie_word_embeddings"].get<bool>();
  }
  if (c.hidden_size % c.num_attention_heads != 0 || c.head_dim() % 2 != 0)
    throw FileError(path, "hidden_size " + std::to_string(c.hidden_size) +
                              " must split into num_attention_heads " +
                              std::to_string(c.num_attention_heads) +
                              " heads of an even width (rotary embeddings pair the channels)");
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    throw FileError(path, "num_key_value_heads " + std::to_string(c.num_key_value_heads) +
                              " must divide num_attention_heads " +
                              std::to_string(c.num_attention_heads));
  return c;
}

LlamaConfig read_llama_config(const std::string& folder) {
  const std::string path = folder + "/config.json";
  std::ifstream in(path);
  if (!in) throw FileError(path, "cannot open (a Hugging Face model folder needs config.json)");
  std::stringstream ss;
  ss << in.rdbuf();
  return llama_config_from_json(ss.str(), path);
}

}  // namespace vlprompt::models::llama
