#include "models/llama/llama_config.h"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/llama/llama_files.h"
#include "src/core/error.h"
#include "src/core/file_io.h"

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

// Bounds well past every published LLaMA-family model (the largest: hidden 16384, intermediate
// 53248, 126 layers, 262k vocabulary, 10M positions), so that a corrupt or hostile config.json is
// refused before the model is built. The sizes are later matched against the weight files too.
struct Bound {
  const char* key;
  int64_t low, high;
};
constexpr Bound kHiddenSize{"hidden_size", 1, 1 << 16};
constexpr Bound kIntermediateSize{"intermediate_size", 1, 1 << 18};
constexpr Bound kLayers{"num_hidden_layers", 1, 1 << 10};
constexpr Bound kHeads{"num_attention_heads", 1, 1 << 12};
constexpr Bound kVocab{"vocab_size", 1, 1 << 21};
// Fewer than 16 positions leaves no room for a prompt; rotary tables are computed per call, so
// the upper bound only catches nonsense.
constexpr Bound kPositions{"max_position_embeddings", 16, 1 << 24};

void require_within(int64_t value, const Bound& b, const std::string& path) {
  if (value < b.low || value > b.high)
    throw FileError(path, "key '" + std::string(b.key) + "' is " + std::to_string(value) +
                              ", expected " + std::to_string(b.low) + ".." +
                              std::to_string(b.high));
}

int64_t bounded_int(const json& j, const Bound& b, const std::string& path) {
  const int64_t value = required_int(j, b.key, path);
  require_within(value, b, path);
  return value;
}

// A finite number above `low` (or at it, with `inclusive`): rope_theta <= 0 or rms_norm_eps < 0
// give NaN logits, and the run would exit 0 with garbage.
double finite_number(const json& j, const std::string& key, double fallback, double low,
                     bool inclusive, const std::string& path) {
  const double v = optional_number(j, key, fallback, path);
  if (!std::isfinite(v) || v < low || (!inclusive && v == low))
    throw FileError(path, "key '" + key + "' is " + j[key].dump() + ", expected a finite number " +
                              (inclusive ? ">= " : "> ") + json(low).dump());
  return v;
}

bool given(const json& j, const std::string& key) { return j.contains(key) && !j[key].is_null(); }

// Keys that change the computation in ways this implementation does not follow: refused, since
// ignoring them loads the model and computes something else without a word.
void refuse_unimplemented(const json& j, const LlamaConfig& c, const std::string& path) {
  auto refuse = [&](const std::string& key, const std::string& expected) {
    throw FileError(path, "key '" + key + "' is " + j[key].dump() + ", expected " + expected);
  };
  if (given(j, "hidden_act") && j["hidden_act"] != "silu")
    refuse("hidden_act", "\"silu\" (the only activation implemented)");
  if (given(j, "rope_scaling"))
    refuse("rope_scaling", "null (scaled rotary embeddings are not implemented)");
  for (const char* key : {"attention_bias", "mlp_bias"})
    if (given(j, key) && j[key] != false)
      refuse(key, "false (projections with biases are not implemented)");
  if (given(j, "head_dim") &&
      !(j["head_dim"].is_number_integer() && j["head_dim"].get<int64_t>() == c.head_dim()))
    refuse("head_dim", std::to_string(c.head_dim()) + " (hidden_size " +
                           std::to_string(c.hidden_size) + " / num_attention_heads " +
                           std::to_string(c.num_attention_heads) +
                           "; other head widths are not implemented)");
  // Mistral attends within a window; full attention equals it only while every sequence fits.
  if (given(j, "sliding_window") &&
      !(j["sliding_window"].is_number_integer() &&
        j["sliding_window"].get<int64_t>() >= c.max_position_embeddings))
    refuse("sliding_window", "null or at least max_position_embeddings " +
                                 std::to_string(c.max_position_embeddings) +
                                 " (sliding-window attention is not implemented, and a longer "
                                 "sequence would need it)");
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
  c.hidden_size = bounded_int(j, kHiddenSize, path);
  c.intermediate_size = bounded_int(j, kIntermediateSize, path);
  c.num_hidden_layers = bounded_int(j, kLayers, path);
  c.num_attention_heads = bounded_int(j, kHeads, path);
  c.vocab_size = bounded_int(j, kVocab, path);
  c.num_key_value_heads = optional_int(j, "num_key_value_heads", c.num_attention_heads, path);
  require_within(c.num_key_value_heads, {"num_key_value_heads", 1, kHeads.high}, path);
  c.rms_norm_eps = finite_number(j, "rms_norm_eps", 1e-6, 0.0, /*inclusive=*/true, path);
  c.rope_theta = finite_number(j, "rope_theta", 10000.0, 0.0, /*inclusive=*/false, path);
  c.max_position_embeddings = optional_int(j, "max_position_embeddings", 2048, path);
  require_within(c.max_position_embeddings, kPositions, path);
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
  refuse_unimplemented(j, c, path);
  return c;
}

LlamaConfig read_llama_config(const std::string& folder) {
  const std::string path = folder + "/config.json";
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec)))
    throw FileError(path, "not found (a Hugging Face model folder needs config.json)");
  return llama_config_from_json(core::read_regular_file(path, kMaxJsonBytes), path);
}

}  // namespace vlprompt::models::llama
