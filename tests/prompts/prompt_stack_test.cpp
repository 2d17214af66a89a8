// The generic prompted-CLIP method over stacks of deltas: an image-side member puts images in the
// loop for training, validation and test and travels in the stack's delta file; a conditional
// member gets per-image features through the site context, and CoOp's site serves any rows.
#include <gtest/gtest.h>

#include <filesystem>

#include "clip_data/run_data.h"
#include "prompts/prompted_clip.h"
#include "prompts/registry.h"
#include "src/core/error.h"
#include "src/delta/delta_file.h"
#include "src/delta/delta_stack.h"
#include "src/engine/evaluate.h"
#include "src/engine/trainer.h"
#include "tests/prompts/tiny_clip.h"
#include "tests/prompts/toy_prompt_deltas.h"

namespace vlprompt::testing {
namespace {

struct ToyImageShiftKeys {
  int64_t width = 0;
  template <class V>
  void visit(V& v) {
    v("width", width, "image tower width (0: the backbone's)");
  }
};

std::shared_ptr<delta::Delta> make_toy_image_shift(const core::ResolvedConfig& config,
                                                   const std::string& section,
                                                   const prompts::MethodContext& context) {
  int64_t width = core::read_config<ToyImageShiftKeys>(config, section).width;
  if (width == 0) width = context.clip->config().vision.width;
  return ToyImageShift(width).ptr();
}

struct NoToyKeys {
  template <class V>
  void visit(V&) {}
};

std::shared_ptr<delta::Delta> make_toy_conditional(const core::ResolvedConfig& config,
                                                   const std::string& section,
                                                   const prompts::MethodContext& context) {
  core::read_config<NoToyKeys>(config, section);
  const auto& c = context.clip->config();
  return ToyConditional(c.embed_dim, c.text.width).ptr();
}

}  // namespace

VLPROMPT_DELTA(toy_image_shift, "test only: a learned shift of every image token",
               make_toy_image_shift, ToyImageShiftKeys);
VLPROMPT_DELTA(toy_conditional, "test only: text tokens shifted by a map of the image feature",
               make_toy_conditional, NoToyKeys);

namespace {

const std::vector<std::string> kClasses = {"cat", "dog", "bird"};

prompts::MethodContext context_for(models::Clip clip, std::vector<std::string> classes = kClasses) {
  prompts::MethodContext c;
  c.clip = std::move(clip);
  c.tokenizer = clip_tokenizer();
  c.classnames = std::move(classes);
  c.seed = 3;
  return c;
}

TEST(PromptStack, ImageSideMemberTrainsWithImagesInTheLoopAndTravelsInTheStackFile) {
  models::Clip clip = tiny_clip();
  const prompts::MethodContext context = context_for(clip);
  const core::ResolvedConfig config = core::config_from_strings({{"coop.n_ctx", "2"}}, "test");
  auto method = prompts::make_method("coop+toy_image_shift", config, context);
  EXPECT_EQ(method->name(), "coop+toy_image_shift");
  ASSERT_TRUE(method->data_needs().images_in_loop);

  // Features cannot stand in for images: neither as a batch nor as encoded views.
  const std::string features_error = error_of([&] {
    method->forward({at::randn({2, 64}), at::zeros({2}, at::kLong), true});
  });
  EXPECT_NE(features_error.find("needs images in the loop"), std::string::npos) << features_error;
  clip_data::TrainDataRequest views;
  views.aug_views = 4;
  const std::string views_error = error_of(
      [&] { clip_data::make_train_data(method->data_needs(), method->name(), clip, {}, views); });
  EXPECT_NE(views_error.find("--aug-views 4 cannot serve coop+toy_image_shift"), std::string::npos)
      << views_error;

  // Images whose class is written in their mean colour: learnable through the image tower.
  at::manual_seed(0);
  const at::Tensor labels = at::arange(12, at::kLong).remainder(3);
  const at::Tensor images = at::randn({12, 3, 64, 64}) * 0.1 + labels.view({12, 1, 1, 1}) - 1.0;
  engine::TensorData data(images, labels, /*inputs_are_features=*/false, 6);
  engine::OptimizerOptions sgd;
  sgd.lr(0.05);
  std::filesystem::remove_all(scratch_dir("stack_images") + "/run");
  engine::Trainer trainer(engine::TrainerOptions(scratch_dir("stack_images") + "/run")
                              .max_epoch(6)
                              .batch_size(4)
                              .optimizer(sgd)
                              .progress(engine::ProgressMode::kOff));
  const auto shift_before = method->state().at("toy_image_shift.shift").clone();
  const auto ctx_before = method->state().at("coop.ctx").clone();
  const engine::TrainResult result = trainer.fit(*method, data, &data);
  ASSERT_EQ(result.status, engine::TrainStatus::kCompleted);
  EXPECT_LT(result.history.back().loss, result.history.front().loss);
  EXPECT_FALSE(at::equal(method->state().at("toy_image_shift.shift"), shift_before))
      << "the image-side member received no gradient";
  EXPECT_FALSE(at::equal(method->state().at("coop.ctx"), ctx_before));

  // Evaluated with its prompts: the images go through its image sites at test time too.
  method->set_training(false);
  at::Tensor logits;
  {
    at::NoGradGuard no_grad;
    logits = method->forward({images, labels, false});
    auto& prompted = dynamic_cast<prompts::PromptedClipMethod&>(*method);
    const at::Tensor without_image_prompts =
        clip->logits(clip->encode_image(images), prompted.class_text_features());
    EXPECT_FALSE(at::allclose(logits, without_image_prompts, 1e-3, 1e-3))
        << "test logits ignored the learned image-side delta";
  }

  // The stack's delta file names its members and rebuilds the same method.
  const std::string path = scratch_dir("stack_images") + "/delta.safetensors";
  delta::write_delta(path, method->state(),
                     prompts::delta_info(*method, clip, "vocab.txt.gz", kClasses, "a {}."));
  prompts::LoadedMethod loaded = prompts::method_from_delta(path, context_for(clip));
  EXPECT_EQ(loaded.info.method, "coop+toy_image_shift");
  EXPECT_EQ(loaded.info.hyperparameters.at("members"), "coop,toy_image_shift");
  EXPECT_EQ(loaded.info.hyperparameters.at("coop.n_ctx"), "2");
  loaded.method->set_training(false);
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::equal(loaded.method->forward({images, labels, false}), logits));
  const engine::ClassificationMetrics m = engine::evaluate(*loaded.method, data, at::kCPU);
  EXPECT_GT(m.top1, 100.0 / 3) << "a trained stack should beat chance on its own training images";

  prompts::LoadedDelta as_delta = prompts::load_delta(path, clip, clip_tokenizer());
  auto stack = std::dynamic_pointer_cast<delta::DeltaStackImpl>(as_delta.delta);
  ASSERT_TRUE(stack);
  EXPECT_EQ(stack->member_names(), (std::vector<std::string>{"coop", "toy_image_shift"}));
}

TEST(PromptStack, ConditionalPromptsSeeTheirOwnImageAndCoOpServesAnyRows) {
  models::Clip clip = tiny_clip();
  const core::ResolvedConfig config = core::config_from_strings({{"coop.n_ctx", "3"}}, "test");
  auto conditional = prompts::make_method("coop+toy_conditional", config, context_for(clip));
  auto plain = prompts::make_method("coop", config, context_for(clip));
  at::manual_seed(1);
  const at::Tensor features = at::randn({5, 64});
  const engine::Batch batch{features, at::zeros({5}, at::kLong), true};
  at::NoGradGuard no_grad;
  // With a zero map the per-image prompts are CoOp's: the text batch of 5 x 3 rows through
  // CoOp's site gives the 3-row batch's features.
  EXPECT_TRUE(at::allclose(conditional->forward(batch), plain->forward(batch), 1e-5, 1e-5));

  auto& cond = dynamic_cast<prompts::PromptedClipMethod&>(*conditional);
  auto toy = std::dynamic_pointer_cast<ToyConditionalImpl>(cond.stack()->member("toy_conditional"));
  toy->weight.normal_(0, 0.5);
  const at::Tensor all = conditional->forward(batch);
  ASSERT_EQ(all.sizes(), (at::IntArrayRef{5, 3}));
  EXPECT_FALSE(at::allclose(all, plain->forward(batch), 1e-3, 1e-3));
  for (int64_t i = 0; i < 5; ++i) {
    const at::Tensor alone =
        conditional->forward({features.slice(0, i, i + 1), at::zeros({1}, at::kLong), true});
    EXPECT_TRUE(at::allclose(alone[0], all[i], 1e-4, 1e-4)) << "image " << i;
  }
}

TEST(PromptStack, StacksAreCheckedByName) {
  models::Clip clip = tiny_clip();
  const core::ResolvedConfig config = core::config_from_strings({}, "test");
  EXPECT_NE(error_of([&] {
              prompts::make_method("coop+coop", config, context_for(clip));
            }).find("'coop' appears twice"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              prompts::make_method("coop+linear-probe", config, context_for(clip));
            }).find("'linear_probe' is a fitted baseline, not a delta"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              prompts::make_method("coop+vtp", config, context_for(clip));
            }).find("unknown method 'vtp'"),
            std::string::npos);
}

TEST(PromptStack, CapabilitiesAreTheMembersAndConflictingOnesAreRefused) {
  models::Clip clip = tiny_clip();
  prompts::MethodContext c = context_for(clip);
  c.domains = {"photo", "sketch"};
  const auto make = [&](const std::string& method, std::map<std::string, std::string> keys = {}) {
    return prompts::make_delta(method, core::config_from_strings(keys, "test"), c);
  };
  // One member's capabilities are the stack's; a capability nobody has is absent.
  const auto coop_vpt = make("coop+vpt");
  EXPECT_NE(coop_vpt->find<delta::ClassPrompts>(), nullptr);
  EXPECT_EQ(coop_vpt->find<delta::ClassHead>(), nullptr);
  EXPECT_EQ(coop_vpt->find<delta::LossTerm>(), nullptr);  // kg_weight 0: no term at all
  EXPECT_EQ(coop_vpt->find<delta::ImageConditioned>(), nullptr);
  EXPECT_NE(make("coop", {{"coop.kg_weight", "8"}})->find<delta::LossTerm>(), nullptr);
  EXPECT_NE(make("cocoop")->find<delta::ImageConditioned>(), nullptr);
  const auto vpt_linear = make("vpt", {{"vpt.head", "linear"}});
  EXPECT_NE(vpt_linear->find<delta::ClassHead>(), nullptr);
  EXPECT_EQ(make("vpt")->find<delta::ClassHead>(), nullptr);  // head: text
  EXPECT_NE(make("dapl")->find<delta::DomainAdaptive>(), nullptr);
  // A stack serves ClassPrompts and DomainAdaptive from one member only.
  EXPECT_NE(error_of([&] {
              make("coop+dapl");
            }).find("both lay out the class prompts of the text tower; only one may"),
            std::string::npos);
  // A head beside text prompts would leave them unused.
  EXPECT_NE(error_of([&] {
              make("coop+vpt", {{"vpt.head", "linear"}});
            })
                .find("one classifies with its own head, so the other's text prompts would "
                      "never be used"),
            std::string::npos);
}

TEST(PromptStack, ImageSitesOnAModifiedResNetAreRefusedNamingTheBackbone) {
  models::Clip rn = models::init_clip(models::load_config("tiny-rn"), 0);
  const std::string msg = error_of([&] {
    prompts::make_method("toy_image_shift", core::config_from_strings({}, "test"), context_for(rn));
  });
  EXPECT_NE(msg.find("toy_image_shift: its image-side sites need a ViT image tower"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("modified_resnet"), std::string::npos) << msg;
}

}  // namespace
}  // namespace vlprompt::testing
