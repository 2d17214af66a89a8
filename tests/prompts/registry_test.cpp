#include "prompts/registry.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "prompts/run_config.h"
#include "src/core/config.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/engine/train_config.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::prompts {
namespace {

using testing::clip_tokenizer;

MethodContext context(models::Clip clip, std::vector<std::string> classes) {
  MethodContext c;
  c.clip = std::move(clip);
  c.tokenizer = clip_tokenizer();
  c.classnames = std::move(classes);
  return c;
}

TEST(MethodRegistry, MethodsRegisterThemselves) {
  // Found by name alone, through their static registrars.
  const auto names = method_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "coop"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "linear_probe"), names.end());
  EXPECT_FALSE(find_method("coop").description.empty());
  EXPECT_TRUE(find_method("coop").is_delta());
  EXPECT_FALSE(find_method("linear-probe").is_delta());
}

TEST(MethodRegistry, UnknownNamesListTheRegisteredOnes) {
  const std::string msg = testing::error_of([] { find_method("coopp"); });
  EXPECT_NE(msg.find("unknown method 'coopp' (registered: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'coop'?"), std::string::npos) << msg;
  EXPECT_THROW(register_method({"coop", "again", find_method("coop").make_delta, nullptr}), Error);
  EXPECT_THROW(register_method({"neither", "no factory", nullptr, nullptr}), Error);
}

TEST(MethodRegistry, BuildsAMethodFromItsConfigSection) {
  models::Clip clip = testing::tiny_clip();
  const core::ResolvedConfig config = core::config_from_node(
      YAML::Load("coop: {n_ctx: 3, csc: true, class_token_position: front}"), "run.yaml");
  auto method = make_method("coop", config, context(clip, {"cat", "dog"}));
  EXPECT_EQ(method->name(), "coop");
  EXPECT_FALSE(method->data_needs().images_in_loop);
  ASSERT_EQ(method->trainable_parameters().size(), 1u);
  EXPECT_EQ(method->trainable_parameters()[0].sizes(), (at::IntArrayRef{2, 3, 64}));
  const at::Tensor logits = method->forward({at::randn({4, 64}), at::zeros({4}, at::kLong), true});
  EXPECT_EQ(logits.sizes(), (at::IntArrayRef{4, 2}));
  const std::string msg = testing::error_of([&] {
    make_method("coop", core::config_from_node(YAML::Load("coop: {n_ctxx: 3}"), "run.yaml"),
                context(clip, {"cat"}));
  });
  EXPECT_EQ(msg, "run.yaml: unknown key 'coop.n_ctxx' (did you mean 'coop.n_ctx'?)");
}

TEST(MethodRegistry, ShippedConfigResolvesForTheEngineAndTheMethod) {
  RunConfigRequest request;
  request.method = "coop";
  request.dataset = "fashion_mnist";
  request.shots = 4;
  const core::ResolvedConfig config = resolve_run_config(request);
  EXPECT_EQ(config.origin_of("optim.lr"), testing::source_path("prompts/configs/coop.yaml"));
  // The engine's own strict readers accept the optim and train sections.
  const engine::TrainerOptions train =
      engine::make_trainer_options(config, testing::scratch_dir("coop_config"), at::kCPU);
  EXPECT_EQ(train.max_epoch(), 100) << "CoOp's 4-shot row of epochs_by_shots";
  EXPECT_EQ(train.batch_size(), 32);
  EXPECT_EQ(train.optimizer().name(), "sgd");
  EXPECT_DOUBLE_EQ(train.optimizer().lr(), 0.002);
  EXPECT_DOUBLE_EQ(train.optimizer().momentum(), 0.9);
  EXPECT_DOUBLE_EQ(train.optimizer().weight_decay(), 5e-4);
  EXPECT_EQ(train.schedule().name(), "cosine");
  EXPECT_EQ(train.schedule().warmup_epochs(), 1);
  EXPECT_DOUBLE_EQ(train.schedule().warmup_lr(), 1e-5);
  request.dataset = "imagenet";
  EXPECT_EQ(engine::make_trainer_options(resolve_run_config(request), "x", at::kCPU).max_epoch(),
            50)
      << "ImageNet's row, from the method's YAML (no dataset literal in code)";
  request.overrides = {"train.max_epoch=7"};
  EXPECT_EQ(engine::make_trainer_options(resolve_run_config(request), "x", at::kCPU).max_epoch(),
            7);

  models::Clip clip = testing::tiny_clip();
  auto method = make_method("coop", config, context(clip, {"cat", "dog"}));
  EXPECT_EQ(method->trainable_parameters()[0].sizes(), (at::IntArrayRef{16, 64}));
}

TEST(MethodRegistry, DatasetLayerSitsBetweenDefaultsAndTheMethod) {
  const std::string dir = testing::scratch_dir("dataset_configs");
  core::atomic_write(dir + "/tinyset.yaml",
                     "train: {batch_size: 8, checkpoint_every: 3}\noptim: {lr: 0.5}\n");
  setenv("VLPROMPT_DATASET_CONFIG_DIR", dir.c_str(), 1);
  RunConfigRequest request;
  request.method = "coop";
  request.dataset = "tinyset";
  const core::ResolvedConfig config = resolve_run_config(request);
  unsetenv("VLPROMPT_DATASET_CONFIG_DIR");
  EXPECT_EQ(config.origin_of("train.batch_size"), testing::source_path("prompts/configs/coop.yaml"))
      << "the method's YAML outranks the dataset's";
  EXPECT_EQ(config.tree["train"]["checkpoint_every"].as<int>(), 3);
  EXPECT_EQ(config.origin_of("train.checkpoint_every"), dir + "/tinyset.yaml");
  EXPECT_DOUBLE_EQ(config.tree["optim"]["lr"].as<double>(), 0.002);
}

}  // namespace
}  // namespace vlprompt::prompts
