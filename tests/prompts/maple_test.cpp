// MaPLe and IVLP against the official code (muzairkhattak/multimodal-prompt-learning run by
// tests/fixtures/maple/generate.py on the shared tiny CLIP): the same prompt token ids and, with
// the official tensors loaded, the same logits for the shared parity pixels, which needs the
// official .half() rounding of the prompts. Plus what training needs: gradients reach every
// prompt and no frozen weight.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "models/clip/load_clip.h"
#include "prompts/official/convert.h"
#include "prompts/registry.h"
#include "src/core/npy.h"
#include "src/engine/method.h"
#include "tests/prompts/tiny_clip.h"
#include "tests/test_support.h"

namespace vlprompt::testing {
namespace maple_test {

const std::vector<std::string> kCifar10 = {"airplane", "automobile", "bird",  "cat",  "deer",
                                           "dog",      "frog",       "horse", "ship", "truck"};

std::string fixture(const std::string& method, const std::string& file) {
  return source_path("tests/fixtures/maple/" + method + "/" + file);
}

struct Official {
  std::unique_ptr<engine::Method> method;
  at::Tensor pixels;
};

// The method built on the shared tiny CLIP with the fixture's settings, the official tensors
// loaded under our names (`names`: official name -> delta file name).
Official load_official(const std::string& method, const std::map<std::string, std::string>& names,
                       const std::map<std::string, std::string>& keys) {
  models::LoadedClip clip =
      models::load_clip(shared_path("data/clip/reference_tiny_vit/tiny_vit.pt"));
  prompts::MethodContext context;
  context.clip = clip.model;
  context.tokenizer = clip_tokenizer();
  context.classnames = kCifar10;
  Official out;
  out.method = prompts::make_method(method, core::config_from_strings(keys, "test"), context);
  core::TensorMap state;
  for (const auto& [official, ours] : names) {
    state[ours] = core::read_npy(fixture(method, "learned/" + official + ".npy"));
  }
  out.method->load_state(state);
  out.method->set_training(false);
  out.pixels = core::read_npy(shared_path("data/parity/inputs/pixels.npy"));
  return out;
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

at::Tensor logits_of(engine::Method& method, const at::Tensor& pixels) {
  at::NoGradGuard no_grad;
  engine::Batch batch;
  batch.inputs = pixels;
  return method.forward(batch);
}

const std::map<std::string, std::string> kMapleNames = {
    {"prompt_learner.ctx", "maple.ctx"},
    {"prompt_learner.proj.weight", "maple.proj.weight"},
    {"prompt_learner.proj.bias", "maple.proj.bias"},
    {"prompt_learner.compound_prompts_text.0", "maple.compound_prompts_text.0"},
    {"prompt_learner.compound_prompt_projections.0.weight",
     "maple.compound_prompt_projections.0.weight"},
    {"prompt_learner.compound_prompt_projections.0.bias",
     "maple.compound_prompt_projections.0.bias"}};

const std::map<std::string, std::string> kIvlpNames = {
    {"prompt_learner.ctx", "ivlp.ctx"},
    {"image_encoder.VPT", "ivlp.visual_ctx"},
    {"image_encoder.transformer.resblocks.1.VPT_shallow", "ivlp.visual_deep.0"},
    {"text_encoder.transformer.resblocks.1.VPT_shallow", "ivlp.text_deep.0"}};

TEST(Maple, OfficialLogitsWithTheOfficialHalfRounding) {
  VLP_REQUIRE_SHARED("data/clip/reference_tiny_vit/tiny_vit.pt");
  VLP_REQUIRE_SHARED("data/parity/inputs/pixels.npy");
  Official maple = load_official("maple", kMapleNames, {{"maple.depth", "2"}});
  const at::Tensor expected = core::read_npy(fixture("maple", "logits.npy"));
  const at::Tensor logits = logits_of(*maple.method, maple.pixels);
  EXPECT_LE(max_abs_diff(logits, expected), 1e-4);

  // Without the rounding the logits move by more than the tolerance: the rounding is what
  // the comparison above checks, not a no-op.
  Official unrounded =
      load_official("maple", kMapleNames, {{"maple.depth", "2"}, {"maple.half_round", "false"}});
  EXPECT_GT(max_abs_diff(logits_of(*unrounded.method, unrounded.pixels), expected), 1e-4);
}

TEST(Maple, PromptTokensAreTheOfficialOnes) {
  prompts::MethodContext context;
  context.clip = tiny_clip();
  context.tokenizer = clip_tokenizer();
  context.classnames = kCifar10;
  for (const std::string method : {"maple", "ivlp"}) {
    auto delta = prompts::make_delta(method, core::config_from_strings({}, "test"), context);
    const auto* prompts = delta->find<delta::ClassPrompts>();
    ASSERT_NE(prompts, nullptr) << method;
    EXPECT_TRUE(at::equal(prompts->class_prompt_ids(),
                          core::read_npy(fixture(method, "tokenized_prompts.npy"))))
        << method;
  }
}

TEST(Ivlp, OfficialLogits) {
  VLP_REQUIRE_SHARED("data/clip/reference_tiny_vit/tiny_vit.pt");
  VLP_REQUIRE_SHARED("data/parity/inputs/pixels.npy");
  Official ivlp =
      load_official("ivlp", kIvlpNames, {{"ivlp.depth_text", "2"}, {"ivlp.depth_vision", "2"}});
  EXPECT_LE(max_abs_diff(logits_of(*ivlp.method, ivlp.pixels),
                         core::read_npy(fixture("ivlp", "logits.npy"))),
            1e-4);
}

// `vlprompt import --from maple|ivlp` of the official-format checkpoints the generator saved
// (Dassl keys, the frozen CLIP's keys beside the learned ones, optimizer and scheduler state):
// the official logits, the depth and context words recovered from the file.
TEST(Maple, ImportedCheckpointsGiveTheOfficialLogits) {
  VLP_REQUIRE_SHARED("data/clip/reference_tiny_vit/tiny_vit.pt");
  VLP_REQUIRE_SHARED("data/parity/inputs/pixels.npy");
  prompts::MethodContext context;
  context.clip = models::load_clip(shared_path("data/clip/reference_tiny_vit/tiny_vit.pt")).model;
  context.tokenizer = clip_tokenizer();
  context.classnames = kCifar10;
  const at::Tensor pixels = core::read_npy(shared_path("data/parity/inputs/pixels.npy"));
  for (const std::string method : {"maple", "ivlp"}) {
    SCOPED_TRACE(method);
    prompts::LoadedMethod m = prompts::official::import_checkpoint(
        method, fixture(method, "model.pth.tar-5"), context, "", clip_vocab());
    EXPECT_EQ(m.info.method, method);
    EXPECT_EQ(m.info.hyperparameters.at("ctx_init"), "a photo of a");
    EXPECT_EQ(m.info.hyperparameters.at(method == "maple" ? "depth" : "depth_vision"), "2");
    m.method->set_training(false);
    EXPECT_LE(
        max_abs_diff(logits_of(*m.method, pixels), core::read_npy(fixture(method, "logits.npy"))),
        1e-4);
  }
  // A CoOp checkpoint is not a MaPLe one: its keys are named.
  const std::string wrong = error_of([&] {
    prompts::official::import_checkpoint(
        "maple", shared_path("data/parity/coop_nctx4_rand_end/prompt_learner/model.pth.tar-50"),
        context, "", clip_vocab());
  });
  EXPECT_NE(wrong.find("prompt_learner.ctx"), std::string::npos) << wrong;
}

TEST(Maple, GradientsReachEveryPromptAndNoFrozenWeight) {
  prompts::MethodContext context;
  context.clip = tiny_clip();
  context.tokenizer = clip_tokenizer();
  context.classnames = {"cat", "dog", "bird"};
  context.seed = 4;
  for (const std::string name : {"maple", "ivlp"}) {
    auto method = prompts::make_method(name, core::config_from_strings({}, "test"), context);
    method->set_training(true);
    engine::Batch batch;
    batch.inputs = at::randn({2, 3, 64, 64});
    batch.labels = at::tensor({0, 2}, at::kLong);
    const at::Tensor loss = method->loss(method->forward(batch), batch);
    loss.backward();
    for (const auto& [key, tensor] : method->state()) {
      ASSERT_TRUE(tensor.grad().defined()) << name << " " << key;
      EXPECT_GT(tensor.grad().abs().sum().item<double>(), 0) << name << " " << key;
    }
    for (const auto& p : context.clip->parameters()) EXPECT_FALSE(p.grad().defined()) << name;
  }
}

}  // namespace maple_test
}  // namespace vlprompt::testing
