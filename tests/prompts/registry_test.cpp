#include "prompts/registry.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "src/core/config.h"
#include "src/core/error.h"
#include "src/engine/train_config.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::prompts {
namespace {

using testing::clip_tokenizer;

TEST(MethodRegistry, MethodsRegisterThemselves) {
  // Found by name alone, through its static registrar.
  const auto names = method_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "coop"), names.end());
  EXPECT_FALSE(find_method("coop").description.empty());
}

TEST(MethodRegistry, UnknownNamesListTheRegisteredOnes) {
  try {
    find_method("coopp");
    FAIL() << "unknown method found";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("unknown method 'coopp' (registered: "), std::string::npos) << msg;
    EXPECT_NE(msg.find("coop"), std::string::npos) << msg;
  }
  EXPECT_THROW(register_method({"coop", "again", find_method("coop").make_method,
                                find_method("coop").make_delta}),
               Error);
}

TEST(MethodRegistry, BuildsAMethodFromItsConfigSection) {
  models::Clip clip = testing::tiny_clip();
  const YAML::Node config = YAML::Load("n_ctx: 3\ncsc: true\nclass_token_position: front\n");
  auto method = make_method("coop", config, clip, clip_tokenizer(), {"cat", "dog"});
  EXPECT_EQ(method->name(), "coop");
  ASSERT_EQ(method->trainable_parameters().size(), 1u);
  EXPECT_EQ(method->trainable_parameters()[0].sizes(), (at::IntArrayRef{2, 3, 64}));
  const at::Tensor logits = method->forward({at::randn({4, 64}), at::zeros({4}, at::kLong), true});
  EXPECT_EQ(logits.sizes(), (at::IntArrayRef{4, 2}));
  try {
    make_method("coop", YAML::Load("n_ctxx: 3"), clip, clip_tokenizer(), {"cat"});
    FAIL() << "misspelt key accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key 'n_ctxx'"), std::string::npos);
  }
}

TEST(MethodRegistry, ShippedConfigResolvesForTheEngineAndTheMethod) {
  core::ConfigSources sources;
  engine::add_trainer_defaults(sources.defaults);
  sources.method_yaml = testing::source_path("prompts/configs/coop.yaml");
  const core::ResolvedConfig config = core::resolve_config(sources);
  // The engine's own strict readers accept the optim and train sections.
  const engine::TrainerOptions train =
      engine::make_trainer_options(config, testing::scratch_dir("coop_config"), at::kCPU);
  EXPECT_EQ(train.max_epoch(), 200);
  EXPECT_EQ(train.batch_size(), 32);
  EXPECT_EQ(train.optimizer().name(), "sgd");
  EXPECT_DOUBLE_EQ(train.optimizer().lr(), 0.002);
  EXPECT_DOUBLE_EQ(train.optimizer().momentum(), 0.9);
  EXPECT_DOUBLE_EQ(train.optimizer().weight_decay(), 5e-4);
  EXPECT_EQ(train.schedule().name(), "cosine");
  EXPECT_EQ(train.schedule().warmup_epochs(), 1);
  EXPECT_DOUBLE_EQ(train.schedule().warmup_lr(), 1e-5);
  const YAML::Node by_shots = config.tree["epochs_by_shots"];
  EXPECT_EQ(by_shots["shots"][1].as<int>(), 50);
  EXPECT_EQ(by_shots["shots"][4].as<int>(), 100);
  EXPECT_EQ(by_shots["shots"][16].as<int>(), 200);
  EXPECT_EQ(by_shots["imagenet"].as<int>(), 50);

  models::Clip clip = testing::tiny_clip();
  auto method = make_method("coop", config.tree["coop"], clip, clip_tokenizer(), {"cat", "dog"});
  EXPECT_EQ(method->trainable_parameters()[0].sizes(), (at::IntArrayRef{16, 64}));
}

}  // namespace
}  // namespace vlprompt::prompts
