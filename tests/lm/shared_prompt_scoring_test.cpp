// Rank classification with the prompt run once (PromptedLmMethod::class_scores: prefill, then the
// label continuations against the prompt's cached keys and values) against B x C rows that each
// hold the whole prompt (class_scores_per_row): the same scores and gradients for every kind of
// LM delta (virtual tokens, a key/value prefix, an encoder, module sites), and C x fewer rows of
// prompt tokens through the model.
#include <gtest/gtest.h>

#include <algorithm>

#include "prompts/prompted_lm.h"
#include "prompts/registry.h"
#include "src/engine/token_data.h"
#include "tests/lm/lm_test_support.h"

namespace vlprompt::prompts {
namespace {

using lm_test_support::config;
using lm_test_support::context;
using lm_test_support::max_diff;
using lm_test_support::tiny_llama;

const std::vector<std::vector<int64_t>> kLabels{{7}, {8, 9, 10}, {11, 12}, {13, 14}};

engine::Batch uneven_batch() {
  const std::vector<std::vector<int64_t>> prompts{
      {1, 5, 6, 20, 21}, {1, 30}, {1, 33, 34, 35, 36, 37, 38}, {1, 22, 23}};
  std::vector<engine::TokenRow> rows;
  for (size_t i = 0; i < prompts.size(); ++i) rows.push_back({prompts[i], int64_t(i % 4), -1});
  return engine::TokenData(rows, 8).batch(0);
}

struct Scored {
  at::Tensor scores;
  std::vector<at::Tensor> grads;
};

Scored score(PromptedLmMethod& method, const at::Tensor& ids, bool shared) {
  for (auto& p : method.trainable_parameters()) p.mutable_grad() = at::Tensor();
  Scored out;
  out.scores = shared ? method.class_scores(ids) : method.class_scores_per_row(ids);
  if (!method.trainable_parameters().empty()) {
    (out.scores * at::linspace(-1, 2, out.scores.numel()).view(out.scores.sizes()))
        .sum()
        .backward();
    for (auto& p : method.trainable_parameters()) out.grads.push_back(p.grad().clone());
  }
  return out;
}

TEST(SharedPromptScoring, EqualsPerRowScoringForEveryKindOfDelta) {
  const std::vector<std::pair<std::string, std::map<std::string, std::string>>> deltas{
      {"none", {}},
      {"prompt_tuning", {{"prompt_tuning.n_virtual", "3"}, {"prompt_tuning.init", "random"}}},
      {"prefix_tuning", {{"prefix_tuning.n_virtual", "4"}}},
      {"p_tuning", {{"p_tuning.n_virtual", "2"}}},
      {"lora", {}},
      {"ia3", {}},
      {"adapter", {}}};
  models::llama::LlamaModel model = tiny_llama();
  const engine::Batch batch = uneven_batch();
  for (const auto& [name, keys] : deltas) {
    SCOPED_TRACE(name);
    std::shared_ptr<delta::Delta> d;
    if (name != "none") {
      d = make_lm_delta(name, config(keys), context(model, 3));
      at::NoGradGuard no_grad;
      at::manual_seed(4);  // move zero-initialised parts (LoRA's B, adapters' up) off zero
      for (auto& p : d->parameters()) p.add_(at::randn(p.sizes()) * 0.1);
    }
    for (bool mean : {false, true}) {
      PromptedLmMethod method(name, model, d, kLabels, "fp",
                              PromptedLmOptions().mean_label_logprob(mean));
      method.set_training(false);
      const Scored shared = score(method, batch.inputs, true);
      const Scored per_row = score(method, batch.inputs, false);
      ASSERT_EQ(shared.scores.sizes(), (at::IntArrayRef{4, 4}));
      EXPECT_LE(max_diff(shared.scores, per_row.scores), 1e-5) << "mean " << mean;
      ASSERT_EQ(shared.grads.size(), per_row.grads.size());
      for (size_t i = 0; i < shared.grads.size(); ++i) {
        const double scale = per_row.grads[i].abs().max().item<double>();
        EXPECT_LE(max_diff(shared.grads[i], per_row.grads[i]), 1e-5 * std::max(1.0, scale))
            << "gradient " << i;
        EXPECT_GT(scale, 1e-7) << "gradient " << i;
      }
    }
  }
}

// Counts the rows of prompt tokens the model embeds (the input-token site sees every pass).
class CountingSites : public nn::DeltaSites {
 public:
  at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor&) override {
    rows += tokens.size(0);
    positions += tokens.size(0) * tokens.size(1);
    return tokens;
  }
  int64_t rows = 0, positions = 0;
};

class CountingDelta : public delta::Delta {
 public:
  CountingDelta() : Delta("counting") {}
  nn::DeltaSites* sites(delta::Tower, const delta::SiteContext&) override { return &sites_; }
  bool touches(delta::Tower t) const override { return t == delta::Tower::kText; }
  std::map<std::string, std::string> hyperparameters() const override { return {}; }
  CountingSites sites_;
};

TEST(SharedPromptScoring, RunsEachPromptOnceInsteadOfOncePerClass) {
  auto counting = std::make_shared<CountingDelta>();
  PromptedLmMethod method("count", tiny_llama(), counting, kLabels, "fp");
  const engine::Batch batch = uneven_batch();
  at::NoGradGuard no_grad;
  method.class_scores_per_row(batch.inputs);
  const int64_t per_row = counting->sites_.positions;
  EXPECT_EQ(counting->sites_.rows, 4 * 4);
  counting->sites_ = CountingSites();
  method.class_scores(batch.inputs);
  EXPECT_EQ(counting->sites_.rows, 4) << "one pass per prompt";
  EXPECT_EQ(counting->sites_.positions, 4 * 7) << "the longest prompt, padded";
  EXPECT_GE(per_row, 4 * counting->sites_.positions) << "C x fewer prompt positions (C = 4)";
}

}  // namespace
}  // namespace vlprompt::prompts
