// VPT's linear head (vpt.head=linear, as in the VPT paper): logits are a linear map of the
// prompted image feature, the head trains with the prompts, is tied to its classes, and cannot
// sit beside a delta whose text prompts it would make unused.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "prompts/registry.h"
#include "src/core/config.h"
#include "src/engine/method.h"
#include "tests/prompts/tiny_clip.h"
#include "tests/test_support.h"

namespace vlprompt::testing {
namespace vpt_head_test {

prompts::MethodContext context(std::vector<std::string> classes = {"cat", "dog", "bird"}) {
  prompts::MethodContext c;
  c.clip = tiny_clip();
  c.tokenizer = clip_tokenizer();
  c.classnames = std::move(classes);
  c.seed = 3;
  return c;
}

core::ResolvedConfig linear_head() {
  return core::config_from_strings({{"vpt.head", "linear"}, {"vpt.n_ctx", "3"}}, "test");
}

TEST(VptHead, LogitsAreTheHeadAppliedToThePromptedImageFeature) {
  prompts::MethodContext c = context();
  auto method = prompts::make_method("vpt", linear_head(), c);
  method->set_training(false);
  const core::TensorMap state = method->state();
  ASSERT_TRUE(state.count("vpt.head.weight"));
  EXPECT_EQ(state.at("vpt.head.weight").sizes(), (at::IntArrayRef{3, 64}));
  at::manual_seed(1);
  engine::Batch batch;
  batch.inputs = at::randn({4, 3, 64, 64});
  at::NoGradGuard no_grad;
  const at::Tensor logits = method->forward(batch);

  // The prompted image feature through the delta's own sites, then the affine map by hand.
  auto delta = prompts::make_delta("vpt", linear_head(), c);
  delta->load_named_tensors(state, "test");
  const delta::SiteContext none;
  const at::Tensor feature =
      c.clip->encode_image(batch.inputs, delta->sites(delta::Tower::kImage, none));
  const at::Tensor expected =
      at::matmul(feature, state.at("vpt.head.weight").t()) + state.at("vpt.head.bias");
  EXPECT_TRUE(at::allclose(logits, expected, 1e-5, 1e-6));
}

TEST(VptHead, TrainsWithThePromptsAndLossFalls) {
  auto method = prompts::make_method("vpt", linear_head(), context());
  method->set_training(true);
  at::manual_seed(2);
  engine::Batch batch;
  batch.inputs = at::randn({6, 3, 64, 64});
  batch.labels = at::tensor({0, 1, 2, 0, 1, 2}, at::kLong);
  auto params = method->trainable_parameters();
  EXPECT_EQ(params.size(), 3u);  // prompts, head weight, head bias
  double first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    for (auto& p : params) p.mutable_grad() = at::Tensor();
    const at::Tensor loss = method->loss(method->forward(batch), batch);
    loss.backward();
    {
      at::NoGradGuard no_grad;
      for (auto& p : params) p.sub_(p.grad() * 0.02);
    }
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, first * 0.65);
}

TEST(VptHead, TiedToItsClassesAndAloneInTheTextRole) {
  auto method = prompts::make_method("vpt", linear_head(), context());
  const std::string tied = error_of([&] {
    method->set_classnames({"car", "truck", "bus", "bike"});
  });
  EXPECT_NE(tied.find("3 classes (cat, dog, bird)"), std::string::npos) << tied;
  EXPECT_NE(tied.find("4 classes (car, truck, bus, bike)"), std::string::npos) << tied;
  method->set_classnames({"cat", "dog", "bird"});  // its own list is fine

  const std::string beside = error_of([&] {
    prompts::make_method(
        "coop+vpt",
        core::config_from_strings({{"vpt.head", "linear"}, {"coop.n_ctx", "2"}}, "test"),
        context());
  });
  EXPECT_NE(beside.find("'coop' and 'vpt'"), std::string::npos) << beside;
  EXPECT_NE(beside.find("text prompts would never be used"), std::string::npos) << beside;

  const std::string bad = error_of([&] {
    prompts::make_method("vpt", core::config_from_strings({{"vpt.head", "mlp"}}, "test"),
                         context());
  });
  EXPECT_NE(bad.find("head is 'mlp', expected text or linear"), std::string::npos) << bad;
}

}  // namespace vpt_head_test
}  // namespace vlprompt::testing
