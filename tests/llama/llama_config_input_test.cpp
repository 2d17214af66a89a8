// A LLaMA config.json: sizes are bounded and matched against the weight files' headers
// before the model is built, values that give NaN logits are refused, and keys that change the
// model but are not implemented are refused rather than ignored. Every error names config.json,
// the key and its value.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/llama/llama_config.h"
#include "models/llama/llama_weights.h"
#include "src/core/file_io.h"
#include "src/core/safetensors.h"
#include "tests/test_support.h"

namespace llama_config_input_test {

namespace fs = std::filesystem;
using json = nlohmann::json;
using vlprompt::models::llama::llama_config_from_json;
using vlprompt::models::llama::load_llama;
using vlprompt::testing::error_of;

std::string fixture(const std::string& name) {
  return std::string(VLPROMPT_FIXTURE_DIR) + "/llama/" + name;
}

json untied_config() {
  return json::parse(vlprompt::core::read_file(fixture("untied") + "/config.json"));
}

// The error for the untied fixture's config.json with `patch` applied.
std::string config_error(const json& patch) {
  json j = untied_config();
  j.merge_patch(patch);
  return error_of([&] { llama_config_from_json(j.dump(), "dir/config.json"); });
}

void expect_has(const std::string& message, const std::vector<std::string>& parts) {
  for (const auto& part : parts)
    EXPECT_NE(message.find(part), std::string::npos) << "expected '" << part << "' in\n" << message;
}

TEST(LlamaConfigInput, SizesAreBoundedNamingTheKeyAndValue) {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, int64_t>>{{"num_hidden_layers", 1000000},
                                                    {"num_hidden_layers", 1000000000},
                                                    {"vocab_size", 10000000},
                                                    {"hidden_size", 1 << 20},
                                                    {"intermediate_size", 1000000000},
                                                    {"num_attention_heads", 1 << 20},
                                                    {"num_key_value_heads", 1 << 20},
                                                    {"max_position_embeddings", 0},
                                                    {"max_position_embeddings", 4},
                                                    {"max_position_embeddings", 1000000000000}}) {
    expect_has(config_error({{key, value}}),
               {"dir/config.json: key '" + key + "' is " + std::to_string(value) + ", expected "});
  }
}

TEST(LlamaConfigInput, ValuesThatGiveNanLogitsAreRefused) {
  expect_has(config_error({{"rope_theta", 0}}),
             {"dir/config.json: key 'rope_theta' is 0, expected a finite number > 0"});
  expect_has(config_error({{"rope_theta", -10000.0}}), {"key 'rope_theta' is -10000.0"});
  expect_has(config_error({{"rms_norm_eps", -1e-6}}),
             {"key 'rms_norm_eps' is -1e-06, expected a finite number >= 0"});
  // JSON has no NaN, and a number too large for a double (which would read as an infinity) is
  // refused by the parser, naming it.
  json j = untied_config();
  std::string text = j.dump();
  text.replace(text.find("\"rope_theta\":10000.0"), 20, "\"rope_theta\":1e999");
  expect_has(error_of([&] { llama_config_from_json(text, "dir/config.json"); }),
             {"dir/config.json: not valid JSON", "number overflow parsing '1e999'"});
}

TEST(LlamaConfigInput, KeysThatChangeTheModelAreRefusedNotIgnored) {
  expect_has(config_error({{"hidden_act", "gelu"}}),
             {"dir/config.json: key 'hidden_act' is \"gelu\", expected \"silu\""});
  expect_has(config_error({{"rope_scaling", {{"type", "linear"}, {"factor", 2.0}}}}),
             {"key 'rope_scaling' is {\"factor\":2.0,\"type\":\"linear\"}, expected null"});
  expect_has(config_error({{"head_dim", 16}}),
             {"key 'head_dim' is 16, expected 8 (hidden_size 32 / num_attention_heads 4"});
  expect_has(config_error({{"sliding_window", 64}}),
             {"key 'sliding_window' is 64, expected null or at least max_position_embeddings 128"});
  expect_has(config_error({{"attention_bias", true}}), {"key 'attention_bias' is true"});
  expect_has(config_error({{"mlp_bias", true}}), {"key 'mlp_bias' is true"});
  // What these keys say when they agree with the implementation is accepted.
  json ok = untied_config();
  ok.merge_patch({{"hidden_act", "silu"},
                  {"rope_scaling", nullptr},
                  {"head_dim", 8},
                  {"sliding_window", 128},
                  {"attention_bias", false}});
  EXPECT_NO_THROW(llama_config_from_json(ok.dump(), "dir/config.json"));
}

// A copy of the untied fixture whose config.json has `patch` applied and whose weights have
// `edit` applied.
std::string folder_with(const std::string& name, const json& patch,
                        const std::function<void(vlprompt::core::TensorMap&)>& edit = nullptr) {
  const std::string dir = vlprompt::testing::scratch_dir(name);
  json j = untied_config();
  j.merge_patch(patch);
  vlprompt::core::atomic_write(dir + "/config.json", j.dump());
  auto tensors = vlprompt::core::read_safetensors(fixture("untied") + "/model.safetensors").tensors;
  if (edit) edit(tensors);
  vlprompt::core::write_safetensors(dir + "/model.safetensors", tensors);
  return dir;
}

TEST(LlamaConfigInput, SizesAreMatchedAgainstTheWeightHeaders) {
  struct Case {
    json patch;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{{"num_hidden_layers", 1000}}, "key 'num_hidden_layers' is 1000, but "},
      {{{"num_hidden_layers", 3}}, "holds 2 layers (model.layers.0 to 1)"},
      {{{"vocab_size", 2000000}},
       "key 'vocab_size' is 2000000, but 'model.embed_tokens.weight' in "},
      {{{"hidden_size", 64}}, "key 'hidden_size' is 64, but 'model.embed_tokens.weight'"},
      {{{"intermediate_size", 262144}},
       "key 'intermediate_size' is 262144, but 'model.layers.0.mlp.gate_proj.weight'"},
      {{{"num_key_value_heads", 4}},
       "key 'num_key_value_heads' is 4, but 'model.layers.0.self_attn.k_proj.weight'"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string dir = folder_with("header_" + std::to_string(i), cases[i].patch);
    expect_has(error_of([&] { load_llama(dir); }), {dir + "/config.json: ", cases[i].message});
  }
  const std::string dir = folder_with("header_shape", {{"vocab_size", 200}});
  expect_has(error_of([&] { load_llama(dir); }),
             {dir + "/model.safetensors has shape [100, 32] (expected [200, 32]: [vocab_size, "
                    "hidden_size])"});
  const std::string no_head =
      folder_with("header_no_head", json::object(), [](auto& t) { t.erase("lm_head.weight"); });
  expect_has(error_of([&] { load_llama(no_head); }),
             {"key 'tie_word_embeddings' is false (or absent), but ", "no 'lm_head.weight'"});
}

TEST(LlamaConfigInput, HeadersAreCheckedBeforeAnyTensorData) {
  // The data holds a NaN too; the config is named first, since its check reads headers only.
  const std::string dir = folder_with("header_first", {{"num_hidden_layers", 5}},
                                      [](auto& t) { t["model.norm.weight"][0] = std::nan(""); });
  expect_has(error_of([&] { load_llama(dir); }), {"key 'num_hidden_layers' is 5"});
}

}  // namespace llama_config_input_test
