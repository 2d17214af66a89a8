// Tip-Adapter on the tiny CLIP: the cache's keys and values, the logits' closed form computed here
// with separate ATen ops, the official search grid against a brute-force loop, and the delta file
// reproducing the chosen alpha and beta.
#include "prompts/tip_adapter.h"

#include <gtest/gtest.h>

#include "prompts/prompted_clip.h"
#include "prompts/registry.h"
#include "prompts/templates.h"
#include "prompts/tip_search.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::prompts {
namespace {

const std::vector<std::string> kTipClasses = {"cat", "dog", "bird"};

MethodContext tip_context(const models::Clip& clip) {
  MethodContext c;
  c.clip = clip;
  c.tokenizer = testing::clip_tokenizer();
  c.classnames = kTipClasses;
  c.seed = 5;
  return c;
}

core::ResolvedConfig tip_config(std::map<std::string, std::string> keys = {}) {
  return core::config_from_strings(keys, "test");
}

PromptedClipMethod& tip_prompted(engine::Method& m) { return dynamic_cast<PromptedClipMethod&>(m); }

// V augmented views of N images (random features) and their labels.
struct TipViews {
  at::Tensor features, labels;
};
TipViews tip_views(int64_t v, int64_t n, int64_t d, uint64_t seed) {
  at::manual_seed(seed);
  return {at::randn({v, n, d}) * 3 + 1, at::arange(n, at::kLong).remainder(3)};
}

TEST(TipAdapter, CacheKeysAreTheNormalisedMeanOfTheViewsAndValuesOneHot) {
  models::Clip clip = testing::tiny_clip();
  const auto delta = make_delta("tip_adapter", tip_config(), tip_context(clip));
  auto* cache = delta->find<delta::FewShotCache>();
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->cache_views(), 10);
  EXPECT_DOUBLE_EQ(cache->view_scale_min(), 0.5);
  EXPECT_FALSE(cache->has_cache());
  const TipViews w = tip_views(10, 7, clip->config().embed_dim, 1);
  cache->build_cache(w.features, w.labels, 3);
  EXPECT_TRUE(cache->has_cache());
  const core::TensorMap t = delta->named_tensors();
  // Mean over views first, then one normalisation (not a mean of normalised views).
  const at::Tensor sum = w.features.sum(0);
  const at::Tensor expected = sum / at::sqrt((sum * sum).sum(-1, true));
  EXPECT_TRUE(at::allclose(t.at("tip_adapter.keys"), expected, 1e-6, 1e-6));
  const at::Tensor normalised_views = w.features / w.features.norm(2, -1, true);
  const at::Tensor other = normalised_views.mean(0) / normalised_views.mean(0).norm(2, -1, true);
  EXPECT_FALSE(at::allclose(t.at("tip_adapter.keys"), other, 1e-4, 1e-4));
  const at::Tensor values = t.at("tip_adapter.values");
  ASSERT_EQ(values.sizes(), (at::IntArrayRef{7, 3}));
  for (int64_t i = 0; i < 7; ++i) {
    for (int64_t c = 0; c < 3; ++c) {
      EXPECT_EQ(values[i][c].item<float>(), c == i % 3 ? 1.f : 0.f);
    }
  }
  EXPECT_EQ(delta->hyperparameters().at("cache_size"), "7");
  EXPECT_THROW(cache->build_cache(w.features, w.labels, 4), Error);  // not the delta's classes
  EXPECT_THROW(delta->set_classnames({"cat", "dog"}), Error);        // tied to its classes
}

TEST(TipAdapter, LogitsAreTheClosedFormOfTheReference) {
  models::Clip clip = testing::tiny_clip();
  const auto method = make_method(
      "tip_adapter", tip_config({{"tip_adapter.alpha", "2.5"}, {"tip_adapter.beta", "3.25"}}),
      tip_context(clip));
  const int64_t d = clip->config().embed_dim;
  const TipViews w = tip_views(4, 9, d, 2);
  tip_prompted(*method).stack()->find<delta::FewShotCache>()->build_cache(w.features, w.labels, 3);
  at::manual_seed(7);
  const at::Tensor f = at::randn({6, d});
  at::NoGradGuard no_grad;
  method->set_training(false);
  const at::Tensor logits = method->forward({f, at::zeros({6}, at::kLong), true});
  // Written out independently: the hand-written prompts' classifier W, the keys K, values V.
  std::vector<std::string> texts;
  for (const auto& c : kTipClasses) texts.push_back(fill_template("a photo of a {}.", c));
  const at::Tensor text = clip->encode_text(
      testing::clip_tokenizer()->tokenize(texts, clip->config().text.context_length));
  const at::Tensor W = text / at::sqrt((text * text).sum(1, true));
  const at::Tensor fn = f / at::sqrt((f * f).sum(1, true));
  const at::Tensor mean = w.features.mean(0);
  const at::Tensor K = mean / at::sqrt((mean * mean).sum(1, true));
  const at::Tensor V = at::one_hot(w.labels, 3).to(at::kFloat);
  const double scale = std::exp(clip->named_parameters()["logit_scale"].item<double>());
  const at::Tensor expected =
      scale * at::mm(fn, W.t()) + 2.5 * at::mm(at::exp(-3.25 * (1 - at::mm(fn, K.t()))), V);
  EXPECT_LE((logits - expected).abs().max().item<double>(), 1e-5);
  // The cache term is not zero here, so the check sees it.
  EXPECT_GT((logits - scale * at::mm(fn, W.t())).abs().max().item<double>(), 0.1);
}

TEST(TipAdapter, OnlyTipAdapterFTrainsAndOnlyItsKeys) {
  models::Clip clip = testing::tiny_clip();
  const TipViews w = tip_views(2, 6, clip->config().embed_dim, 3);
  const auto tip = make_method("tip_adapter", tip_config(), tip_context(clip));
  const auto tip_f = make_method("tip_adapter_f", tip_config(), tip_context(clip));
  for (engine::Method* m : {tip.get(), tip_f.get()}) {
    tip_prompted(*m).stack()->find<delta::FewShotCache>()->build_cache(w.features, w.labels, 3);
  }
  EXPECT_TRUE(tip->trainable_parameters().empty());
  const auto trained = tip_f->trainable_parameters();
  ASSERT_EQ(trained.size(), 1u);
  EXPECT_EQ(trained[0].sizes(), (at::IntArrayRef{6, clip->config().embed_dim}));
  EXPECT_TRUE(tip_f->state().count("tip_adapter_f.keys"));
  EXPECT_TRUE(tip_f->state().count("tip_adapter_f.values"));
  // Its cache beside a member that changes the image features is refused.
  EXPECT_THROW(make_method("tip_adapter+clip_adapter", tip_config(), tip_context(clip)), Error);
  EXPECT_THROW(make_method("tip_adapter+vpt", tip_config(), tip_context(clip)), Error);
  EXPECT_THROW(make_method("tip_adapter+tip_adapter_f", tip_config(), tip_context(clip)), Error);
  EXPECT_NO_THROW(make_method("coop+tip_adapter", tip_config(), tip_context(clip)));
}

TEST(TipAdapter, TheGridIsTheReferencesList) {
  // search_hp: [i * (scale - 0.1) / steps + 0.1 for i in range(steps)].
  const std::vector<double> g = tip_grid(7, 200);
  ASSERT_EQ(g.size(), 200u);
  EXPECT_DOUBLE_EQ(g[0], 0.1);
  EXPECT_DOUBLE_EQ(g[1], 1 * 6.9 / 200 + 0.1);
  EXPECT_DOUBLE_EQ(g[199], 199 * 6.9 / 200 + 0.1);
  EXPECT_LT(g.back(), 7.0);  // the scale itself is never reached
}

// Top-1 of base + alpha * exp(-beta (1 - A)) V, written as a loop over rows.
double tip_brute_top1(const at::Tensor& base, const at::Tensor& a, const at::Tensor& v,
                      const at::Tensor& labels, double alpha, double beta) {
  int64_t right = 0;
  for (int64_t i = 0; i < labels.size(0); ++i) {
    const at::Tensor row = base[i] + alpha * at::mv(v.t(), at::exp(beta * (a[i] - 1)));
    right += row.argmax().item<int64_t>() == labels[i].item<int64_t>();
  }
  return 100.0 * right / labels.size(0);
}

TEST(TipAdapter, TheSearchKeepsTheUniqueBestGridPointOnVal) {
  models::Clip clip = testing::tiny_clip();
  const std::map<std::string, std::string> grid = {{"tip_adapter.search_scale_beta", "6"},
                                                   {"tip_adapter.search_scale_alpha", "8"},
                                                   {"tip_adapter.search_step_beta", "5"},
                                                   {"tip_adapter.search_step_alpha", "4"}};
  const auto delta = make_delta("tip_adapter", tip_config(grid), tip_context(clip));
  const int64_t d = clip->config().embed_dim;
  const TipViews w = tip_views(3, 12, d, 4);
  delta->find<delta::FewShotCache>()->build_cache(w.features, w.labels, 3);
  // Val features near the keys of their class, plus noise; base logits that favour a wrong class.
  at::manual_seed(11);
  const int64_t n = 150;
  const at::Tensor labels = at::randint(0, 3, {n}, at::kLong);
  const at::Tensor keys = delta->named_tensors().at("tip_adapter.keys");
  const at::Tensor pick = labels + 3 * at::randint(0, 4, {n}, at::kLong);
  const at::Tensor f = keys.index_select(0, pick) + 0.12 * at::randn({n, d});
  const at::Tensor base = 6 * at::rand({n, 3}) + 2 * at::one_hot((labels + 1) % 3, 3);
  const at::Tensor fn = f / f.norm(2, -1, true);
  const at::Tensor a = at::mm(fn, keys.t());
  const at::Tensor values = delta->named_tensors().at("tip_adapter.values");
  double best = -1, best_alpha = 0, best_beta = 0;
  int ties = 0;
  std::vector<double> all;
  for (double beta : tip_grid(6, 5)) {
    for (double alpha : tip_grid(8, 4)) {
      const double top1 = tip_brute_top1(base, a, values, labels, alpha, beta);
      all.push_back(top1);
      if (top1 > best) {
        best = top1, best_alpha = alpha, best_beta = beta, ties = 0;
      } else if (top1 == best) {
        ++ties;
      }
    }
  }
  ASSERT_EQ(ties, 0) << "the data must have one best grid point";
  ASSERT_GT(best, *std::min_element(all.begin(), all.end()) + 5);
  const nlohmann::json record = delta->find<delta::LogitResidual>()->select_on_val(f, base, labels);
  EXPECT_DOUBLE_EQ(record.at("alpha").get<double>(), best_alpha);
  EXPECT_DOUBLE_EQ(record.at("beta").get<double>(), best_beta);
  EXPECT_DOUBLE_EQ(record.at("val_top1").get<double>(), best);
  EXPECT_EQ(record.at("n").get<int64_t>(), n);
  EXPECT_EQ(record.at("grid").at("points").get<int64_t>(), 20);
  // The choice is the delta's: its file rebuilds it with the same alpha and beta and logits.
  const auto hp = delta->hyperparameters();
  const auto rebuilt =
      make_delta("tip_adapter", file_config({"tip_adapter"}, hp, "file"), tip_context(clip));
  rebuilt->load_named_tensors(delta->named_tensors(), "file");
  EXPECT_EQ(rebuilt->hyperparameters(), hp);
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::equal(rebuilt->find<delta::LogitResidual>()->residual_logits(f),
                        delta->find<delta::LogitResidual>()->residual_logits(f)));
}

TEST(TipAdapter, TiesKeepTheFirstGridPoint) {
  // With no cache signal (all values zero), every point scores the same: the first is kept, as
  // the reference's strict `acc > best_acc` keeps it.
  const at::Tensor base = at::randn({10, 3});
  const TipSearch s =
      search_tip_grid(base, at::rand({10, 4}), at::zeros({4, 3}),
                      at::randint(0, 3, {10}, at::kLong), tip_grid(7, 200), tip_grid(3, 20));
  EXPECT_DOUBLE_EQ(s.beta, 0.1);
  EXPECT_DOUBLE_EQ(s.alpha, 0.1);
  EXPECT_EQ(s.points, 4000);
}

}  // namespace
}  // namespace vlprompt::prompts
