// `vlprompt export --to peft` and `vlprompt import --from peft` end to end on the tiny LLaMA
// folder of tests/fixtures/make_llama_fixtures.py: a delta file -> adapter folder -> delta file
// holds the same tensors and hyper-parameters, on the same backbone.
#include <gtest/gtest.h>

#include "models/llama/llama_weights.h"
#include "prompts/lm/lm_delta_file.h"
#include "tests/cli/cli_test_support.h"
#include "tests/lm/lm_test_support.h"

namespace peft_cli_test {

namespace lm = vlprompt::prompts::lm;
using vlprompt::testing::quoted;
using vlprompt::testing::run_cli;

TEST(PeftCli, ExportThenImportKeepsTheDelta) {
  const std::string model_dir = std::string(VLPROMPT_FIXTURE_DIR) + "/llama/untied";
  auto model = vlprompt::models::llama::load_llama(model_dir);
  const std::string dir = vlprompt::testing::scratch_dir("peft_cli");
  for (const std::string method : {"prompt_tuning", "prefix_tuning", "p_tuning"}) {
    SCOPED_TRACE(method);
    auto delta = vlprompt::prompts::make_lm_delta(
        method, lm_test_support::config({{method + ".n_virtual", "3"}}),
        lm_test_support::context(model));
    const std::string path = dir + "/" + method + ".safetensors";
    lm::write_lm_delta(path, *delta, lm::lm_delta_info(*delta, model, model_dir));
    const std::string adapter = dir + "/" + method + "-peft";
    const auto exported = run_cli("export --to peft " + quoted(path) + " --model " +
                                  quoted(model_dir) + " --out " + quoted(adapter));
    ASSERT_EQ(exported.status, 0) << exported.output;
    const auto config = vlprompt::testing::read_json(adapter + "/adapter_config.json");
    EXPECT_EQ(config["base_model_name_or_path"], model_dir);
    EXPECT_EQ(config["num_virtual_tokens"], 3);
    const std::string back = dir + "/" + method + "-back.safetensors";
    const auto imported = run_cli("import --from peft " + quoted(adapter) + " --model " +
                                  quoted(model_dir) + " --out " + quoted(back));
    ASSERT_EQ(imported.status, 0) << imported.output;
    const auto original = vlprompt::delta::read_delta(path);
    const auto again = vlprompt::delta::read_delta(back);
    EXPECT_EQ(again.info.method, method);
    EXPECT_EQ(again.info.hyperparameters, original.info.hyperparameters);
    EXPECT_EQ(again.info.backbone_fingerprint, original.info.backbone_fingerprint);
    ASSERT_EQ(again.tensors.size(), original.tensors.size());
    for (const auto& [name, t] : original.tensors) {
      EXPECT_TRUE(at::equal(again.tensors.at(name), t)) << name;
    }
  }
}

}  // namespace peft_cli_test
