// CLIP-Adapter on the tiny CLIP: the residual MLP's closed form, its size, that a zero ratio is
// the hand-written prompt's classifier bit for bit, and that it trains on features (no pixels).
#include "prompts/clip_adapter.h"

#include <gtest/gtest.h>

#include <cmath>

#include "prompts/prompted_clip.h"
#include "prompts/registry.h"
#include "prompts/templates.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::prompts {
namespace {

const std::vector<std::string> kAdapterClasses = {"cat", "dog", "bird"};

MethodContext adapter_context(const models::Clip& clip) {
  MethodContext c;
  c.clip = clip;
  c.tokenizer = testing::clip_tokenizer();
  c.classnames = kAdapterClasses;
  c.seed = 5;
  return c;
}

core::ResolvedConfig adapter_config(std::map<std::string, std::string> keys = {}) {
  return core::config_from_strings(keys, "test");
}

// The hand-written prompts' logits, computed here from the frozen towers.
at::Tensor adapter_hand_written_logits(models::Clip& clip, const at::Tensor& features) {
  std::vector<std::string> texts;
  for (const auto& c : kAdapterClasses) texts.push_back(fill_template("a photo of a {}.", c));
  const at::Tensor ids =
      testing::clip_tokenizer()->tokenize(texts, clip->config().text.context_length);
  return clip->logits(features, clip->encode_text(ids));
}

TEST(ClipAdapter, AtRatioZeroItIsTheHandWrittenPromptExactly) {
  models::Clip clip = testing::tiny_clip();
  const auto method = make_method("clip_adapter", adapter_config({{"clip_adapter.ratio", "0"}}),
                                  adapter_context(clip));
  at::manual_seed(3);
  const at::Tensor features = at::randn({5, clip->config().embed_dim});
  at::NoGradGuard no_grad;
  method->set_training(false);
  const at::Tensor logits = method->forward({features, at::zeros({5}, at::kLong), true});
  EXPECT_TRUE(at::equal(logits, adapter_hand_written_logits(clip, features)));
  // At the default ratio the adapter moves them.
  const auto adapted = make_method("clip_adapter", adapter_config(), adapter_context(clip));
  EXPECT_FALSE(at::allclose(adapted->forward({features, at::zeros({5}, at::kLong), true}), logits));
}

TEST(ClipAdapter, TheMapIsTheResidualBottleneckAndItsSizeTheClosedForm) {
  models::Clip clip = testing::tiny_clip();
  const int64_t d = clip->config().embed_dim;
  const auto delta = make_delta("clip_adapter", adapter_config(), adapter_context(clip));
  int64_t n = 0;
  for (const auto& [name, t] : delta->named_tensors()) n += t.numel();
  EXPECT_EQ(n, 2 * d * d / 4);  // two bias-free layers, D -> D/4 -> D
  const core::TensorMap t = delta->named_tensors();
  const at::Tensor w1 = t.at("clip_adapter.down.weight"), w2 = t.at("clip_adapter.up.weight");
  ASSERT_EQ(w1.sizes(), (at::IntArrayRef{d / 4, d}));
  ASSERT_EQ(w2.sizes(), (at::IntArrayRef{d, d / 4}));
  // nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from the delta's seed.
  EXPECT_LE(w1.abs().max().item<double>(), 1 / std::sqrt(static_cast<double>(d)));
  EXPECT_LE(w2.abs().max().item<double>(), 1 / std::sqrt(static_cast<double>(d / 4)));
  EXPECT_GT(w1.abs().max().item<double>(), 0.5 / std::sqrt(static_cast<double>(d)));
  const auto again = make_delta("clip_adapter", adapter_config(), adapter_context(clip));
  EXPECT_TRUE(at::equal(again->named_tensors().at("clip_adapter.down.weight"), w1));
  auto* map = delta->find<delta::ImageFeatureMap>();
  ASSERT_NE(map, nullptr);
  at::manual_seed(4);
  const at::Tensor f = at::randn({3, d});
  at::NoGradGuard no_grad;
  const at::Tensor x = at::relu(at::matmul(at::relu(at::matmul(f, w1.t())), w2.t()));
  EXPECT_TRUE(at::allclose(map->map_features(f), 0.2 * x + 0.8 * f, 1e-6, 1e-6));
  const auto quarter = make_delta("clip_adapter", adapter_config({{"clip_adapter.reduction", "2"}}),
                                  adapter_context(clip));
  EXPECT_EQ(quarter->named_tensors().at("clip_adapter.down.weight").size(0), d / 2);
  EXPECT_THROW(make_delta("clip_adapter", adapter_config({{"clip_adapter.ratio", "1.5"}}),
                          adapter_context(clip)),
               Error);
}

TEST(ClipAdapter, TrainsOnCachedFeaturesWithGradientsInTheAdapterOnly) {
  models::Clip clip = testing::tiny_clip();
  const auto method = make_method("clip_adapter", adapter_config(), adapter_context(clip));
  EXPECT_FALSE(method->data_needs().images_in_loop);
  method->set_training(true);
  at::manual_seed(6);
  const engine::Batch batch{at::randn({4, clip->config().embed_dim}),
                            at::tensor(std::vector<int64_t>{0, 1, 2, 1}), true};
  const at::Tensor loss = method->loss(method->forward(batch), batch);
  loss.backward();
  const auto params = method->trainable_parameters();
  ASSERT_EQ(params.size(), 2u);
  for (const auto& p : params) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_GT(p.grad().abs().sum().item<double>(), 0);
  }
  for (const auto& p : clip->parameters()) EXPECT_FALSE(p.grad().defined());
  // The same logits from pixels through the frozen tower as from their features.
  at::NoGradGuard no_grad;
  method->set_training(false);
  const at::Tensor pixels = at::randn({2, 3, 64, 64});
  const at::Tensor from_pixels = method->forward({pixels, at::tensor({0, 1}), false});
  const at::Tensor from_features =
      method->forward({clip->encode_image(pixels), at::tensor({0, 1}), true});
  EXPECT_TRUE(at::allclose(from_pixels, from_features, 1e-5, 1e-5));
}

}  // namespace
}  // namespace vlprompt::prompts
