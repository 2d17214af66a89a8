// PEFT adapters: export then import is the identity for the three methods; adapter_config.json is
// byte for byte what PEFT's save_pretrained writes (tests/fixtures/make_peft_fixtures.py, from
// PEFT's source); prefix keys/values laid out as PEFT's get_prompt lays them out, GQA included;
// bad adapters are errors naming the file, key and value.
#include "prompts/lm/peft_format.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <limits>

#include "prompts/lm/prefix_tuning.h"
#include "src/core/file_io.h"
#include "src/core/safetensors.h"
#include "tests/lm/lm_test_support.h"
#include "tests/test_support.h"

namespace peft_format_test {

using namespace lm_test_support;
namespace lm = vlprompt::prompts::lm;
namespace core = vlprompt::core;

std::string fixture(const std::string& name) {
  return std::string(VLPROMPT_FIXTURE_DIR) + "/peft/" + name;
}

std::shared_ptr<vlprompt::delta::Delta> build(const std::string& method,
                                              const std::map<std::string, std::string>& keys,
                                              vlprompt::models::llama::LlamaModel model) {
  std::map<std::string, std::string> full;
  for (const auto& [k, v] : keys) full[method + "." + k] = v;
  return vlprompt::prompts::make_lm_delta(method, config(full), context(std::move(model)));
}

class PeftRoundTrip
    : public ::testing::TestWithParam<std::pair<std::string, std::map<std::string, std::string>>> {
};

TEST_P(PeftRoundTrip, ExportThenImportIsTheIdentity) {
  auto model = tiny_llama();
  const auto& [method, keys] = GetParam();
  auto delta = build(method, keys, model);
  const std::string dir =
      vlprompt::testing::scratch_dir("peft_roundtrip") + "/" + method + std::to_string(keys.size());
  lm::write_peft(lm::to_peft(*delta, model->config(), "tiny-llama"), dir);
  EXPECT_TRUE(core::file_exists(dir + "/adapter_config.json"));
  // safe_save_file(..., metadata={"format": "pt"}), one tensor.
  const auto weights = core::read_safetensors(dir + "/adapter_model.safetensors");
  EXPECT_EQ(weights.metadata.at("format"), "pt");
  EXPECT_EQ(weights.tensors.size(), 1u);
  EXPECT_EQ(weights.tensors.begin()->second.scalar_type(), at::kFloat);
  const auto back = lm::from_peft(lm::read_peft(dir), context(model), dir);
  EXPECT_EQ(back->method(), method);
  EXPECT_EQ(back->hyperparameters(), delta->hyperparameters());
  const auto expected = delta->export_tensors();
  const auto got = back->export_tensors();
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& [name, t] : expected) EXPECT_TRUE(at::equal(got.at(name), t)) << name;
}

INSTANTIATE_TEST_SUITE_P(
    Lm, PeftRoundTrip,
    ::testing::Values(
        std::make_pair(std::string("prompt_tuning"),
                       std::map<std::string, std::string>{{"n_virtual", "5"}, {"init", "random"}}),
        std::make_pair(std::string("prompt_tuning"),
                       std::map<std::string, std::string>{
                           {"n_virtual", "4"}, {"init", "text"}, {"init_text", "abc"}}),
        std::make_pair(std::string("prefix_tuning"),
                       std::map<std::string, std::string>{{"n_virtual", "3"}}),
        std::make_pair(std::string("prefix_tuning"),
                       std::map<std::string, std::string>{{"n_virtual", "3"},
                                                          {"prefix_projection", "false"},
                                                          {"init_weights", "zero"}}),
        std::make_pair(std::string("p_tuning"),
                       std::map<std::string, std::string>{{"n_virtual", "4"}}),
        std::make_pair(std::string("p_tuning"),
                       std::map<std::string, std::string>{{"n_virtual", "4"},
                                                          {"encoder", "lstm"},
                                                          {"encoder_hidden_size", "8"}})));

std::string written_config(const vlprompt::delta::Delta& delta,
                           const vlprompt::models::llama::LlamaModel& model,
                           const std::string& name) {
  const std::string dir = vlprompt::testing::scratch_dir("peft_config") + "/" + name;
  lm::write_peft(lm::to_peft(delta, model->config(), "tiny-llama"), dir);
  return core::read_file(dir + "/adapter_config.json");
}

TEST(PeftFormat, AdapterConfigIsWhatPeftWrites) {
  auto model = tiny_llama();
  auto prompt = build(
      "prompt_tuning",
      {{"n_virtual", "5"}, {"init", "text"}, {"init_text", "Classify: \xc3\xa9t\xc3\xa9"}}, model);
  EXPECT_EQ(written_config(*prompt, model, "prompt"),
            core::read_file(fixture("prompt_tuning/adapter_config.json")));
  auto ptune = build(
      "p_tuning", {{"n_virtual", "4"}, {"encoder", "lstm"}, {"encoder_hidden_size", "8"}}, model);
  EXPECT_EQ(written_config(*ptune, model, "ptune"),
            core::read_file(fixture("p_tuning/adapter_config.json")));
  auto prefix = build("prefix_tuning", {{"n_virtual", "3"}, {"prefix_projection", "false"}}, model);
  EXPECT_EQ(written_config(*prefix, model, "prefix"),
            core::read_file(fixture("gqa/adapter/adapter_config.json")));
}

// PEFT's get_prompt on the fixture's prompt_embeddings vs our kv_prefix sites.
void expect_prefix_layout(const std::string& name, int64_t kv_heads) {
  auto model = tiny_llama(kv_heads);
  const auto ref = core::read_safetensors(fixture(name + "/reference.safetensors")).tensors;
  const auto delta = lm::from_peft(lm::read_peft(fixture(name + "/adapter")), context(model),
                                   fixture(name + "/adapter"));
  auto* sites = delta->sites(vlprompt::delta::Tower::kText, {});
  for (int64_t l = 0; l < 2; ++l) {
    const auto p = sites->kv_prefix(l, 2);
    ASSERT_TRUE(p.has_value());
    // Ours: [B, n, kv_heads * head_dim]; PEFT's: [B, kv_heads, n, head_dim].
    const at::Tensor key = p->key.reshape({2, 3, kv_heads, 4}).transpose(1, 2);
    const at::Tensor value = p->value.reshape({2, 3, kv_heads, 4}).transpose(1, 2);
    EXPECT_TRUE(at::equal(key, ref.at("key." + std::to_string(l)))) << name << " layer " << l;
    EXPECT_TRUE(at::equal(value, ref.at("value." + std::to_string(l)))) << name << " layer " << l;
  }
  // And back out: the same prompt_embeddings.
  const auto adapter = lm::to_peft(*delta, model->config(), "tiny-llama");
  EXPECT_TRUE(at::equal(adapter.prompt_embeddings, ref.at("prompt_embeddings")));
}

TEST(PeftFormat, PrefixKeysAndValuesAreLaidOutAsPeftsGetPrompt) {
  expect_prefix_layout("mha", 4);
  expect_prefix_layout("gqa", 2);
}

TEST(PeftFormat, GqaPrefixUsesTheKeyValueWidth) {
  auto model = tiny_llama(2);
  auto prefix = build("prefix_tuning", {{"n_virtual", "3"}}, model);
  const auto adapter = lm::to_peft(*prefix, model->config(), "tiny-llama");
  // head_dim 4 * 2 key/value heads = 8; 2 layers * 2 * 8 = 32.
  EXPECT_EQ(adapter.prompt_embeddings.sizes(), (std::vector<int64_t>{3, 32}));
  EXPECT_EQ(adapter.config["token_dim"], 8);
  EXPECT_EQ(adapter.config["num_attention_heads"], 2);
  EXPECT_EQ(adapter.config["encoder_hidden_size"], 8);
  EXPECT_EQ(adapter.config["prefix_projection"], true);
}

// A copy of the GQA fixture adapter with `edit` applied.
std::string edited(const std::string& name,
                   const std::function<void(nlohmann::json&, core::TensorMap&)>& edit) {
  const std::string dir = vlprompt::testing::scratch_dir("peft_bad") + "/" + name;
  auto config = nlohmann::json::parse(core::read_file(fixture("gqa/adapter/adapter_config.json")));
  auto tensors = core::read_safetensors(fixture("gqa/adapter/adapter_model.safetensors")).tensors;
  edit(config, tensors);
  core::atomic_write(dir + "/adapter_config.json", config.dump(2));
  core::write_safetensors(dir + "/adapter_model.safetensors", tensors);
  return dir;
}

std::string import_error(const std::string& dir) {
  auto model = tiny_llama(2);
  return vlprompt::testing::error_of(
      [&] { lm::from_peft(lm::read_peft(dir), context(model), dir); });
}

TEST(PeftFormat, BadAdaptersNameFileKeyAndValue) {
  std::string dir = edited("missing_key", [](auto&, auto& t) {
    t["embedding.weight"] = t.at("prompt_embeddings");
    t.erase("prompt_embeddings");
  });
  std::string m = import_error(dir);
  EXPECT_NE(m.find("'prompt_embeddings' is missing"), std::string::npos) << m;
  EXPECT_NE(m.find(dir + "/adapter_model.safetensors"), std::string::npos) << m;
  EXPECT_NE(m.find("embedding.weight"), std::string::npos) << m;

  dir = edited("shape", [](auto&, auto& t) { t["prompt_embeddings"] = at::zeros({3, 16}); });
  m = import_error(dir);
  EXPECT_NE(m.find("[3, 16]"), std::string::npos) << m;
  EXPECT_NE(m.find("[3, 32]"), std::string::npos) << m;
  EXPECT_NE(m.find(dir + "/adapter_model.safetensors"), std::string::npos) << m;

  dir = edited("type", [](auto& c, auto&) { c["peft_type"] = "LOHA"; });
  m = import_error(dir);
  EXPECT_NE(m.find("'peft_type' is 'LOHA', which vlprompt does not read"), std::string::npos) << m;
  EXPECT_NE(m.find("PROMPT_TUNING, PREFIX_TUNING, P_TUNING, LORA and IA3"), std::string::npos) << m;
  EXPECT_NE(m.find(dir + "/adapter_config.json"), std::string::npos) << m;

  dir = edited("layers", [](auto& c, auto&) { c["num_layers"] = 12; });
  m = import_error(dir);
  EXPECT_NE(m.find("'num_layers' is 12 but the model has 2"), std::string::npos) << m;

  dir = edited("mha_on_gqa", [](auto& c, auto&) { c["token_dim"] = 16; });
  m = import_error(dir);
  EXPECT_NE(m.find("'token_dim' is 16 but the model has 8"), std::string::npos) << m;

  dir = edited("no_config", [](auto&, auto&) {});
  std::filesystem::remove(dir + "/adapter_config.json");
  m = import_error(dir);
  EXPECT_NE(m.find(dir + "/adapter_config.json"), std::string::npos) << m;
}

// A P-Tuning adapter written by to_peft, then `edit`ed: what import must refuse.
std::string edited_ptuning(const std::string& name,
                           const std::function<void(nlohmann::json&, core::TensorMap&)>& edit) {
  auto model = tiny_llama(2);
  const std::string dir = vlprompt::testing::scratch_dir("peft_bad") + "/" + name;
  lm::write_peft(
      lm::to_peft(*build("p_tuning", {{"n_virtual", "3"}}, model), model->config(), "tiny-llama"),
      dir);
  auto config = nlohmann::json::parse(core::read_file(dir + "/adapter_config.json"));
  auto tensors = core::read_safetensors(dir + "/adapter_model.safetensors").tensors;
  edit(config, tensors);
  core::atomic_write(dir + "/adapter_config.json", config.dump(2));
  core::write_safetensors(dir + "/adapter_model.safetensors", tensors);
  return dir;
}

TEST(PeftFormat, NonFiniteOrIntegerEmbeddingsAndABadDropoutAreRefusedAtImport) {
  const auto embeddings = [](at::Tensor (*make)(const at::Tensor&)) {
    return [make](nlohmann::json&, core::TensorMap& t) {
      t["prompt_embeddings"] = make(t.at("prompt_embeddings"));
    };
  };
  const std::string fine = edited_ptuning("fine", [](auto&, auto&) {});
  auto model = tiny_llama(2);
  EXPECT_NO_THROW(lm::from_peft(lm::read_peft(fine), context(model), fine));
  std::string m = import_error(edited_ptuning("nan", embeddings([](const at::Tensor& t) {
                                                at::Tensor x = t.clone();
                                                x[1][0] = std::numeric_limits<float>::quiet_NaN();
                                                return x;
                                              })));
  EXPECT_NE(m.find("'prompt_embeddings' holds NaN or Inf values (1 of"), std::string::npos) << m;
  m = import_error(edited_ptuning(
      "int", embeddings([](const at::Tensor& t) { return (t * 100).to(at::kInt); })));
  EXPECT_NE(m.find("has dtype Int, expected floating point"), std::string::npos) << m;
  m = import_error(edited_ptuning(
      "bool", embeddings([](const at::Tensor& t) { return (t > 0).to(at::kBool); })));
  EXPECT_NE(m.find("has dtype Bool, expected floating point"), std::string::npos) << m;
  m = import_error(edited_ptuning("dropout", [](auto& c, auto&) { c["encoder_dropout"] = 5.0; }));
  EXPECT_NE(m.find("field 'encoder_dropout' is 5.0, expected a probability in [0, 1)"),
            std::string::npos)
      << m;
}

}  // namespace peft_format_test
