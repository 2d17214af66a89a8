// The VPT paper's two head-side baselines: MLP-k (a k-layer head on cached image features) and
// Side-tuning (a side network's feature blended with the frozen one, half and half at the start,
// which needs images in the loop).
#include <gtest/gtest.h>

#include "prompts/mlp_head.h"
#include "prompts/registry.h"
#include "prompts/side_tuning.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::prompts {
namespace {

MethodContext context(const models::Clip& clip) {
  MethodContext c;
  c.clip = clip;
  c.tokenizer = testing::clip_tokenizer();
  c.classnames = {"cat", "dog", "bird"};
  c.seed = 5;
  return c;
}

int64_t count(const delta::Delta& d) {
  int64_t n = 0;
  for (const auto& [name, t] : d.named_tensors()) n += t.numel();
  return n;
}

TEST(VptBaselines, MlpHeadIsKLayersOnTheFeatureAndTiedToItsClasses) {
  models::Clip clip = testing::tiny_clip();
  const int64_t e = clip->config().embed_dim;
  auto three = make_delta("mlp_head", core::config_from_strings({}, "test"), context(clip));
  EXPECT_EQ(count(*three), 2 * (e * e + e) + 3 * e + 3);
  auto one = make_delta("mlp_head", core::config_from_strings({{"mlp_head.k", "1"}}, "test"),
                        context(clip));
  EXPECT_EQ(count(*one), 3 * e + 3);
  EXPECT_FALSE(three->touches(delta::Tower::kImage) || three->touches(delta::Tower::kText));
  // k = 1 is the linear map itself; k = 3 puts ReLUs between.
  auto* head = one->find<delta::ClassHead>();
  ASSERT_NE(head, nullptr);
  const at::Tensor f = at::randn({4, e});
  const core::TensorMap t = one->named_tensors();
  EXPECT_TRUE(at::allclose(head->head_logits(f), at::linear(f, t.at("mlp_head.layers.0.weight"),
                                                            t.at("mlp_head.layers.0.bias"))));
  EXPECT_THROW(three->set_classnames({"cat", "dog"}), Error);
  EXPECT_NO_THROW(three->set_classnames({"cat", "dog", "bird"}));
}

TEST(VptBaselines, SideTuningStartsHalfAndHalfAndNeedsImagesInTheLoop) {
  models::Clip clip = testing::tiny_clip();
  auto side = make_delta("side", core::config_from_strings({}, "test"), context(clip));
  auto* blend = side->find<delta::ImageFeatureBlend>();
  ASSERT_NE(blend, nullptr);
  at::manual_seed(2);
  const at::Tensor pixels = at::randn({2, 3, 64, 64});
  const at::Tensor frozen = at::randn({2, clip->config().embed_dim});
  const at::Tensor zero = at::zeros_like(frozen);
  const at::Tensor side_only = blend->blend(pixels, zero) * 2;  // (1 - 0.5) * side
  EXPECT_TRUE(at::allclose(blend->blend(pixels, frozen), 0.5 * frozen + 0.5 * side_only));
  EXPECT_GT(side_only.abs().max().item<double>(), 0);
  const auto method = make_method("side", core::config_from_strings({}, "test"), context(clip));
  EXPECT_TRUE(method->data_needs().images_in_loop);
  // It stacks with text prompts: side's image feature, CoOp's class prompts.
  EXPECT_NO_THROW(make_delta("side+coop", core::config_from_strings({}, "test"), context(clip)));
}

}  // namespace
}  // namespace vlprompt::prompts
