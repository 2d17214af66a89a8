// The frozen LLaMA-family model against the plain-PyTorch reference of
// tests/fixtures/make_llama_fixtures.py (HF LlamaForCausalLM's formulas): tied and untied, GQA
// and not, F32/F16/BF16, sharded; key/value prefixes and input tokens through the delta sites;
// the cache against the full forward; and the loader's errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "models/llama/llama_weights.h"
#include "src/core/safetensors.h"
#include "tests/test_support.h"

namespace llama_model_test {

namespace fs = std::filesystem;
using vlprompt::models::llama::LlamaCache;
using vlprompt::models::llama::LlamaModel;
using vlprompt::models::llama::load_llama;

std::string fixture(const std::string& name) {
  return std::string(VLPROMPT_FIXTURE_DIR) + "/llama/" + name;
}

vlprompt::core::TensorMap reference(const std::string& name) {
  return vlprompt::core::read_safetensors(fixture(name) + "/reference.safetensors").tensors;
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a - b).abs().max().item<double>();
}

// The fixture's random past keys/values ([B, P, kv_width] per layer), as Prefix Tuning gives them.
class FixturePrefix : public vlprompt::nn::DeltaSites {
 public:
  explicit FixturePrefix(const vlprompt::core::TensorMap& ref) : ref_(ref) {}
  std::optional<vlprompt::nn::KVPrefix> kv_prefix(int64_t layer, int64_t batch) override {
    EXPECT_EQ(batch, 2);
    const std::string l = std::to_string(layer);
    return vlprompt::nn::KVPrefix{ref_.at("prefix_key." + l), ref_.at("prefix_value." + l)};
  }

 private:
  vlprompt::core::TensorMap ref_;
};

// Prepends the fixture's virtual token embeddings to every row (Prompt Tuning's input site).
class FixtureSoftPrompt : public vlprompt::nn::DeltaSites {
 public:
  explicit FixtureSoftPrompt(at::Tensor soft) : soft_(std::move(soft)) {}
  at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor& ids) override {
    EXPECT_TRUE(ids.defined());
    return at::cat({soft_.unsqueeze(0).expand({tokens.size(0), -1, -1}), tokens}, 1);
  }
  at::Tensor layer_tokens(int64_t layer, const at::Tensor& x) override {
    seen_lengths.push_back(x.size(1));
    return x;
  }
  std::vector<int64_t> seen_lengths;

 private:
  at::Tensor soft_;
};

class LlamaParity : public ::testing::TestWithParam<std::string> {};

TEST_P(LlamaParity, LogitsMatchTheReference) {
  torch::NoGradGuard no_grad;
  LlamaModel model = load_llama(fixture(GetParam()));
  const auto ref = reference(GetParam());
  const at::Tensor logits = model->logits(ref.at("ids"));
  EXPECT_LT(max_diff(logits, ref.at("logits")), 1e-4);
  // A wrong model would be far off: the logits are not near zero.
  EXPECT_GT(ref.at("logits").abs().max().item<double>(), 0.5);
}

TEST_P(LlamaParity, KeyValuePrefixEntersAsPastKeysUnrotated) {
  torch::NoGradGuard no_grad;
  LlamaModel model = load_llama(fixture(GetParam()));
  const auto ref = reference(GetParam());
  FixturePrefix prefix(ref);
  const at::Tensor logits = model->logits(ref.at("ids"), &prefix);
  EXPECT_LT(max_diff(logits, ref.at("prefix_logits")), 1e-4);
  EXPECT_GT(max_diff(ref.at("prefix_logits"), ref.at("logits")), 1e-2);
}

TEST_P(LlamaParity, InputTokensArePrependedBeforeLayers) {
  torch::NoGradGuard no_grad;
  LlamaModel model = load_llama(fixture(GetParam()));
  const auto ref = reference(GetParam());
  FixtureSoftPrompt soft(ref.at("soft_prompt"));
  const at::Tensor logits = model->logits(ref.at("ids"), &soft);
  EXPECT_LT(max_diff(logits, ref.at("soft_logits")), 1e-4);
  EXPECT_EQ(soft.seen_lengths, std::vector<int64_t>({9, 9}));
}

INSTANTIATE_TEST_SUITE_P(Llama, LlamaParity,
                         ::testing::Values("untied", "tied", "sharded", "bf16", "f16"));

// Prompt of 4 tokens, then one token at a time: each step equals the full forward's position.
void expect_cache_matches(LlamaModel& model, const at::Tensor& ids, vlprompt::nn::DeltaSites* sites,
                          const at::Tensor& full) {
  LlamaCache cache;
  std::vector<at::Tensor> parts{model->forward_step(ids.narrow(1, 0, 4), cache, sites)};
  for (int64_t t = 4; t < ids.size(1); ++t)
    parts.push_back(model->forward_step(ids.narrow(1, t, 1), cache, sites));
  EXPECT_LT(max_diff(at::cat(parts, 1), full), 1e-5);
}

TEST(LlamaModel, CacheEqualsTheFullForward) {
  torch::NoGradGuard no_grad;
  for (const std::string name : {"untied", "tied"}) {
    SCOPED_TRACE(name);
    LlamaModel model = load_llama(fixture(name));
    const auto ref = reference(name);
    const at::Tensor ids = ref.at("ids");
    expect_cache_matches(model, ids, nullptr, model->logits(ids));
    FixturePrefix prefix(ref);
    expect_cache_matches(model, ids, &prefix, model->logits(ids, &prefix));
    // The cache counts the prefix among its positions.
    LlamaCache cache;
    model->forward_step(ids, cache, &prefix);
    EXPECT_EQ(cache.length(), 3 + ids.size(1));
  }
}

TEST(LlamaModel, PositionOffsetShiftsTheRotaryPositions) {
  torch::NoGradGuard no_grad;
  LlamaModel model = load_llama(fixture("untied"));
  const at::Tensor ids = reference("untied").at("ids");
  // Rotary attention depends only on relative positions: an offset changes nothing in exact
  // arithmetic, and only rounding in fp32.
  EXPECT_LT(max_diff(model->logits(ids, nullptr, 5), model->logits(ids)), 1e-4);
}

TEST(LlamaModel, LoadedModelIsFrozen) {
  LlamaModel model = load_llama(fixture("tied"));
  EXPECT_FALSE(model->lm_head);
  EXPECT_EQ(model->config().architecture, "MistralForCausalLM");
  EXPECT_EQ(model->config().num_key_value_heads, 4);  // absent: defaults to the heads
  EXPECT_DOUBLE_EQ(model->config().rope_theta, 500000.0);
  for (const auto& p : model->parameters()) EXPECT_FALSE(p.requires_grad());
}

// A copy of the untied folder whose model.safetensors is `edit`ed.
std::string edited_copy(const std::string& name,
                        const std::function<void(vlprompt::core::TensorMap&)>& edit) {
  const std::string dir = vlprompt::testing::scratch_dir(name);
  fs::copy_file(fixture("untied") + "/config.json", dir + "/config.json",
                fs::copy_options::overwrite_existing);
  auto tensors = vlprompt::core::read_safetensors(fixture("untied") + "/model.safetensors").tensors;
  edit(tensors);
  vlprompt::core::write_safetensors(dir + "/model.safetensors", tensors);
  return dir;
}

TEST(LlamaWeights, MissingTensorIsNamed) {
  const std::string dir =
      edited_copy("missing", [](auto& t) { t.erase("model.layers.1.mlp.up_proj.weight"); });
  const std::string message = vlprompt::testing::error_of([&] { load_llama(dir); });
  EXPECT_NE(message.find("model.layers.1.mlp.up_proj.weight"), std::string::npos) << message;
  EXPECT_NE(message.find(dir + "/model.safetensors"), std::string::npos) << message;
}

TEST(LlamaWeights, MisShapedTensorIsNamed) {
  const std::string dir = edited_copy("misshaped", [](auto& t) {
    t["model.layers.0.self_attn.k_proj.weight"] = at::zeros({32, 32});
  });
  const std::string message = vlprompt::testing::error_of([&] { load_llama(dir); });
  EXPECT_NE(message.find("model.layers.0.self_attn.k_proj.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("[16, 32]"), std::string::npos) << message;
  EXPECT_NE(message.find(dir + "/model.safetensors"), std::string::npos) << message;
}

TEST(LlamaWeights, UnexpectedTensorIsNamedButInvFreqIsAccepted) {
  const std::string ok = edited_copy("inv_freq", [](auto& t) {
    t["model.layers.0.self_attn.rotary_emb.inv_freq"] = at::ones({4});
  });
  EXPECT_NO_THROW(load_llama(ok));
  const std::string dir =
      edited_copy("extra", [](auto& t) { t["model.extra.bias"] = at::ones({4}); });
  const std::string message = vlprompt::testing::error_of([&] { load_llama(dir); });
  EXPECT_NE(message.find("model.extra.bias"), std::string::npos) << message;
}

TEST(LlamaWeights, UnknownArchitectureIsNamed) {
  const std::string dir = vlprompt::testing::scratch_dir("gpt2");
  std::ifstream in(fixture("untied") + "/config.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text.replace(text.find("LlamaForCausalLM"), 16, "GPT2LMHeadModel");
  std::ofstream(dir + "/config.json") << text;
  const std::string message = vlprompt::testing::error_of([&] { load_llama(dir); });
  EXPECT_NE(message.find("GPT2LMHeadModel"), std::string::npos) << message;
  EXPECT_NE(message.find(dir + "/config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("architectures"), std::string::npos) << message;
}

TEST(LlamaWeights, ShardIndexNamingAMissingTensorIsAnError) {
  const std::string dir = vlprompt::testing::scratch_dir("bad_index");
  for (const auto& entry : fs::directory_iterator(fixture("sharded")))
    fs::copy_file(entry.path(), dir + "/" + entry.path().filename().string(),
                  fs::copy_options::overwrite_existing);
  std::ifstream in(dir + "/model.safetensors.index.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  text.replace(text.find("\"model.norm.weight\""), 19, "\"model.norm.weights\"");
  std::ofstream(dir + "/model.safetensors.index.json") << text;
  const std::string message = vlprompt::testing::error_of([&] { load_llama(dir); });
  EXPECT_NE(message.find("model.norm.weight"), std::string::npos) << message;
}

}  // namespace llama_model_test
