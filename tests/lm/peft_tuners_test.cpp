// PEFT's LoRA and IA3 adapters (prompts/lm/peft_tuners.h): an adapter made by PEFT's formulas
// (tests/fixtures/make_peft_tuner_fixtures.py, transcribed from PEFT's Linear.forward) imports to
// a delta whose logits are the reference's; export writes back PEFT's keys and shapes with the
// same values; what cannot be applied exactly is refused by name.
#include "prompts/lm/peft_tuners.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "models/llama/llama_weights.h"
#include "prompts/lm/peft_format.h"
#include "src/core/file_io.h"
#include "src/core/safetensors.h"
#include "tests/lm/lm_test_support.h"
#include "tests/test_support.h"

namespace peft_tuners_test {

namespace lm = vlprompt::prompts::lm;
namespace core = vlprompt::core;
using lm_test_support::max_diff;

std::string fixture(const std::string& name) {
  return std::string(VLPROMPT_FIXTURE_DIR) + "/peft_tuners/" + name;
}

vlprompt::models::llama::LlamaModel fixture_model() {
  return vlprompt::models::llama::load_llama(fixture("model"));
}

std::shared_ptr<vlprompt::delta::Delta> import(const std::string& dir,
                                               vlprompt::models::llama::LlamaModel model) {
  return lm::from_peft(lm::read_peft(dir), lm_test_support::context(std::move(model)), dir);
}

class PeftTunerCase : public ::testing::TestWithParam<std::string> {};

TEST_P(PeftTunerCase, ImportedAdapterGivesPeftsLogits) {
  auto model = fixture_model();
  const auto ref = core::read_safetensors(fixture(GetParam() + "/reference.safetensors")).tensors;
  const auto delta = import(fixture(GetParam() + "/adapter"), model);
  delta->eval();
  at::NoGradGuard no_grad;
  const vlprompt::delta::SiteContext none;
  const at::Tensor logits =
      model->logits(ref.at("ids"), delta->sites(vlprompt::delta::Tower::kText, none));
  EXPECT_LT(max_diff(logits, ref.at("logits")), 1e-4) << GetParam();
  // Without the adapter the logits are far from the reference: the test can fail.
  EXPECT_GT(max_diff(model->logits(ref.at("ids")), ref.at("logits")), 1e-2) << GetParam();
}

TEST_P(PeftTunerCase, ExportWritesPeftsKeysShapesAndValues) {
  auto model = fixture_model();
  const std::string dir = fixture(GetParam() + "/adapter");
  const auto delta = import(dir, model);
  const lm::PeftAdapter out = lm::to_peft(*delta, model->config(), "model");
  const auto original = core::read_safetensors(dir + "/adapter_model.safetensors").tensors;
  ASSERT_EQ(out.tensors.size(), original.size());
  for (const auto& [key, t] : original) {
    ASSERT_TRUE(out.tensors.count(key)) << key;
    EXPECT_EQ(out.tensors.at(key).sizes(), t.sizes()) << key;
    EXPECT_TRUE(at::equal(out.tensors.at(key), t)) << key;
  }
  const auto config = nlohmann::json::parse(core::read_file(dir + "/adapter_config.json"));
  for (const char* key : {"peft_type", "target_modules", "layers_to_transform", "r", "lora_alpha",
                          "use_rslora", "feedforward_modules"}) {
    if (config.contains(key)) EXPECT_EQ(out.config.at(key), config.at(key)) << key;
  }
  // Round trip through the files.
  const std::string again = vlprompt::testing::scratch_dir("peft_tuners") + "/" + GetParam();
  std::filesystem::remove_all(again);
  lm::write_peft(out, again);
  const auto back = import(again, model);
  for (const auto& [name, t] : delta->named_tensors()) {
    EXPECT_TRUE(at::equal(t, back->named_tensors().at(name))) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, PeftTunerCase, ::testing::Values("lora", "lora_rslora", "ia3"));

// A copy of the lora fixture with `edit` applied, and the error importing it gives.
std::string edited_error(const std::string& name,
                         const std::function<void(nlohmann::json&, core::TensorMap&)>& edit,
                         std::string* dir_out = nullptr) {
  const std::string dir = vlprompt::testing::scratch_dir("peft_tuners_bad") + "/" + name;
  auto config = nlohmann::json::parse(core::read_file(fixture("lora/adapter/adapter_config.json")));
  auto tensors = core::read_safetensors(fixture("lora/adapter/adapter_model.safetensors")).tensors;
  edit(config, tensors);
  core::atomic_write(dir + "/adapter_config.json", config.dump(2));
  core::write_safetensors(dir + "/adapter_model.safetensors", tensors);
  if (dir_out) *dir_out = dir;
  auto model = fixture_model();
  return vlprompt::testing::error_of([&] { import(dir, model); });
}

TEST(PeftTuners, WhatCannotBeAppliedExactlyIsRefusedByName) {
  std::string dir;
  std::string m = edited_error(
      "dora", [](auto& c, auto&) { c["use_dora"] = true; }, &dir);
  EXPECT_NE(m.find("'use_dora' is true: DoRA"), std::string::npos) << m;
  EXPECT_NE(m.find(dir + "/adapter_config.json"), std::string::npos) << m;
  m = edited_error("rank_pattern", [](auto& c, auto&) { c["rank_pattern"] = {{"q_proj", 2}}; });
  EXPECT_NE(m.find("'rank_pattern'"), std::string::npos) << m;
  m = edited_error("bias", [](auto& c, auto&) { c["bias"] = "all"; });
  EXPECT_NE(m.find("'bias' is \"all\""), std::string::npos) << m;
  m = edited_error("r", [](auto& c, auto&) { c["r"] = 8; });
  EXPECT_NE(m.find("'r' is 8 but the tensors have rank 4"), std::string::npos) << m;
  m = edited_error("stranger", [](auto&, auto& t) {
    t["base_model.model.model.layers.1.mlp.c_fc.lora_A.weight"] = at::zeros({4, 32});
  });
  EXPECT_NE(m.find("'mlp.c_fc' is not a projection of a LLaMA layer"), std::string::npos) << m;
  m = edited_error("layer", [](auto&, auto& t) {
    t["base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight"] = at::zeros({4, 32});
  });
  EXPECT_NE(m.find("at layer 7 but the model has 2"), std::string::npos) << m;
  m = edited_error("shape", [](auto&, auto& t) {
    t["base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"] = at::zeros({32, 4});
  });
  EXPECT_NE(m.find("v_proj.lora_B"), std::string::npos) << m;
  EXPECT_NE(m.find("[32, 4]"), std::string::npos) << m;
}

}  // namespace peft_tuners_test
