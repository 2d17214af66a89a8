// VPT on CLIP's image tower: shallow tokens join after the class token, deep tokens replace them
// layer by layer; depth 1 is shallow; the tokens learn while the frozen tower gets no gradient.
#include "prompts/vpt.h"

#include <gtest/gtest.h>
#include <torch/optim/sgd.h>

#include "prompts/prompted_clip.h"
#include "src/delta/delta_stack.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::prompts {
namespace {

using testing::clip_tokenizer;
using testing::tiny_clip;

// The same tokens appended after the patches instead of after the class token: self-attention
// in the image tower has no mask and the positions are already embedded, so the class token's
// output must not change.
class AppendedTokens : public nn::DeltaSites {
 public:
  explicit AppendedTokens(at::Tensor prompt) : prompt_(std::move(prompt)) {}
  at::Tensor input_tokens(const at::Tensor& x, const at::Tensor&) override {
    return at::cat({x, prompt_.unsqueeze(0).expand({x.size(0), prompt_.size(0), x.size(2)})}, 1);
  }

 private:
  at::Tensor prompt_;
};

at::Tensor encode(models::Clip& clip, Vpt& vpt, const at::Tensor& pixels) {
  const delta::SiteContext none;
  return clip->encode_image(pixels, vpt->sites(delta::Tower::kImage, none));
}

TEST(Vpt, ShallowTokensTakePartAndDepthOneIsShallow) {
  models::Clip clip = tiny_clip();
  at::manual_seed(0);
  const at::Tensor pixels = at::randn({3, 3, 64, 64});
  Vpt shallow(VptOptions().n_ctx(5).deep(false).seed(2), clip);
  Vpt depth1(VptOptions().n_ctx(5).deep(true).depth(1).seed(2), clip);
  Vpt deep(VptOptions().n_ctx(5).deep(true).depth(12).seed(2), clip);
  EXPECT_EQ(deep->prompts.size(0), 2) << "depth is capped at the tiny tower's 2 layers";
  EXPECT_EQ(deep->hyperparameters().at("depth"), "2");
  at::NoGradGuard no_grad;
  const at::Tensor a = encode(clip, shallow, pixels);
  EXPECT_TRUE(at::equal(a, encode(clip, depth1, pixels)));
  EXPECT_FALSE(at::allclose(a, clip->encode_image(pixels), 1e-3, 1e-3));
  AppendedTokens appended(shallow->prompts[0]);
  EXPECT_TRUE(at::allclose(a, clip->encode_image(pixels, &appended), 1e-5, 1e-5));
  // Deep: layer 1's own tokens replace layer 0's outputs at the prompt positions.
  const at::Tensor d = encode(clip, deep, pixels);
  EXPECT_FALSE(at::allclose(d, a, 1e-4, 1e-4));
  deep->prompts[1].add_(at::randn_like(deep->prompts[1]));  // (a constant would vanish in LN)
  EXPECT_FALSE(at::allclose(encode(clip, deep, pixels), d, 1e-4, 1e-4));
}

TEST(Vpt, PromptsLearnAndTheFrozenTowerGetsNoGradient) {
  models::Clip clip = tiny_clip();
  const std::vector<std::string> names = {"cat", "dog", "bird"};
  Vpt vpt(VptOptions().n_ctx(4).deep(true).dropout(0.1).seed(1), clip);
  delta::DeltaStack stack{delta::DeltaStackOptions{}};
  stack->add("vpt", vpt);
  PromptedClipMethod method(clip, clip_tokenizer(), stack, names);
  ASSERT_TRUE(method.data_needs().images_in_loop);
  at::manual_seed(3);
  const at::Tensor labels = at::arange(9, at::kLong).remainder(3);
  const engine::Batch batch{at::randn({9, 3, 64, 64}) * 0.1 + labels.view({9, 1, 1, 1}) - 1, labels,
                            false};
  torch::optim::SGD sgd(method.trainable_parameters(), torch::optim::SGDOptions(0.5));
  method.set_training(true);
  double first = 0, last = 0;
  for (int step = 0; step < 8; ++step) {
    sgd.zero_grad();
    last = method.train_step(batch, "test").loss.item<double>();
    if (step == 0) first = last;
    sgd.step();
  }
  EXPECT_LT(last, first);
  for (const auto& p : clip->named_parameters()) {
    EXPECT_FALSE(p.value().grad().defined()) << p.key() << " got a gradient";
  }
  EXPECT_TRUE(vpt->prompts.grad().defined());
}

}  // namespace
}  // namespace vlprompt::prompts
