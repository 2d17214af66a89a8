// PromptedLmMethod's batched scoring against the obvious per-row computation through the model's
// full logits: rank classification (every row x every class, right padding, virtual tokens in
// front) and completion-only causal-LM logits.
#include "prompts/prompted_lm.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "src/core/error.h"
#include "src/engine/token_data.h"

namespace prompted_lm_test {

using vlprompt::models::llama::LlamaConfig;
using vlprompt::models::llama::LlamaModel;
using vlprompt::prompts::LmTask;
using vlprompt::prompts::PromptedLmMethod;
using vlprompt::prompts::PromptedLmOptions;

LlamaModel tiny_model() {
  LlamaConfig c;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.vocab_size = 50;
  torch::manual_seed(3);
  LlamaModel m(c);
  for (auto& p : m->parameters()) p.set_requires_grad(false);
  return m;
}

// Three virtual tokens in front of every row, as Prompt Tuning puts them.
class FrontTokens : public vlprompt::nn::DeltaSites {
 public:
  explicit FrontTokens(at::Tensor soft) : soft_(std::move(soft)) {}
  at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor&) override {
    return at::cat({soft_.unsqueeze(0).expand({tokens.size(0), -1, -1}), tokens}, 1);
  }
  int64_t inserted_tokens() const override { return soft_.size(0); }

 private:
  at::Tensor soft_;
};

class FrontDelta : public vlprompt::delta::Delta {
 public:
  FrontDelta() : Delta("front"), sites_(at::Tensor()) {
    soft_ = register_parameter("soft", torch::randn({3, 32}) * 0.5);
    sites_ = FrontTokens(soft_);
  }
  vlprompt::nn::DeltaSites* sites(vlprompt::delta::Tower,
                                  const vlprompt::delta::SiteContext&) override {
    return &sites_;
  }
  bool touches(vlprompt::delta::Tower t) const override {
    return t == vlprompt::delta::Tower::kText;
  }
  std::map<std::string, std::string> hyperparameters() const override { return {}; }

 private:
  at::Tensor soft_;
  FrontTokens sites_;
};

// log p(label | prompt) summed over the label's tokens, one sequence at a time.
double row_score(LlamaModel& model, vlprompt::nn::DeltaSites* sites,
                 const std::vector<int64_t>& prompt, const std::vector<int64_t>& label) {
  std::vector<int64_t> seq = prompt;
  seq.insert(seq.end(), label.begin(), label.end());
  const at::Tensor logits =
      model->logits(at::tensor(seq, at::kLong).view({1, -1}), sites)[0].to(at::kDouble);
  const int64_t off = sites ? sites->inserted_tokens() : 0;
  const at::Tensor logp = at::log_softmax(logits, -1);
  double s = 0;
  for (size_t j = 0; j < label.size(); ++j)
    s += logp[off + static_cast<int64_t>(prompt.size() + j) - 1][label[j]].item<double>();
  return s;
}

TEST(PromptedLm, RankClassificationEqualsPerRowScoring) {
  LlamaModel model = tiny_model();
  const std::vector<std::vector<int64_t>> labels{{7}, {8, 9, 10}, {11, 12}};
  const std::vector<std::vector<int64_t>> prompts{{1, 5, 6, 20, 21}, {1, 30}, {1, 40, 41, 42}};
  std::vector<vlprompt::engine::TokenRow> rows;
  for (size_t i = 0; i < prompts.size(); ++i) rows.push_back({prompts[i], int64_t(i % 3), -1});
  vlprompt::engine::TokenData data(rows, 8);
  const auto batch = data.batch(0);
  for (bool with_delta : {false, true}) {
    torch::manual_seed(5);
    auto delta = with_delta ? std::make_shared<FrontDelta>() : nullptr;
    for (bool mean : {false, true}) {
      PromptedLmMethod method("t", model, delta, labels, "fp",
                              PromptedLmOptions().mean_label_logprob(mean));
      at::NoGradGuard no_grad;
      const at::Tensor scores = method.forward(batch);
      ASSERT_EQ(scores.sizes(), (std::vector<int64_t>{3, 3}));
      vlprompt::delta::SiteContext ctx;
      auto* sites = delta ? delta->sites(vlprompt::delta::Tower::kText, ctx) : nullptr;
      for (size_t b = 0; b < prompts.size(); ++b) {
        for (size_t c = 0; c < labels.size(); ++c) {
          double expected = row_score(model, sites, prompts[b], labels[c]);
          if (mean) expected /= static_cast<double>(labels[c].size());
          EXPECT_NEAR(scores[b][c].item<double>(), expected, 1e-4)
              << "row " << b << " class " << c << " delta " << with_delta;
        }
      }
    }
  }
}

TEST(PromptedLm, CompletionLogitsArePredictionsOfTheCompletionTokensOnly) {
  LlamaModel model = tiny_model();
  torch::manual_seed(5);
  auto delta = std::make_shared<FrontDelta>();
  // Row 0: prompt [1, 5, 6], completion [7, 8]; row 1: prompt [1], completion [9, 10, 11, 2].
  std::vector<vlprompt::engine::TokenRow> rows{{{1, 5, 6, 7, 8}, -1, 3},
                                               {{1, 9, 10, 11, 2}, -1, 1}};
  vlprompt::engine::TokenData data(rows, 8);
  ASSERT_TRUE(data.causal_lm());
  EXPECT_EQ(data.target_tokens(), 6);
  const auto batch = data.batch(0);
  EXPECT_EQ(batch.labels.sizes(), (std::vector<int64_t>{6}));
  EXPECT_TRUE(at::equal(batch.labels, at::tensor({7, 8, 9, 10, 11, 2}, at::kLong)));
  PromptedLmMethod method("t", model, delta, {}, "fp", PromptedLmOptions().task(LmTask::kCausalLm));
  at::NoGradGuard no_grad;
  const at::Tensor logits = method.forward(batch);
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{6, 50}));
  vlprompt::delta::SiteContext ctx;
  auto* sites = delta->sites(vlprompt::delta::Tower::kText, ctx);
  int64_t k = 0;
  for (const auto& row : rows) {
    const at::Tensor full = model->logits(at::tensor(row.ids, at::kLong).view({1, -1}), sites)[0];
    for (size_t t = row.target_start; t < row.ids.size(); ++t, ++k)
      EXPECT_LT((logits[k] - full[3 + t - 1]).abs().max().item<double>(), 1e-4) << "token " << k;
  }
  // The engine's cross-entropy on these logits is the mean completion NLL the trainer minimises.
  const double loss = method.loss(logits, batch).item<double>();
  EXPECT_NEAR(loss, at::cross_entropy_loss(logits, batch.labels).item<double>(), 1e-9);
}

TEST(PromptedLm, BadRowsAndMissingLabelWordsAreErrors) {
  EXPECT_THROW(vlprompt::engine::TokenData({{{}, 0, -1}}, 4), vlprompt::Error);
  EXPECT_THROW(vlprompt::engine::TokenData({{{1, 2}, -1, 2}}, 4), vlprompt::Error);
  EXPECT_THROW(vlprompt::engine::TokenData({{{1, 2}, 0, -1}, {{1, 2, 3}, -1, 1}}, 4),
               vlprompt::Error);
  EXPECT_THROW(PromptedLmMethod("t", tiny_model(), nullptr, {}, "fp"), vlprompt::Error);
  EXPECT_THROW(PromptedLmMethod("t", tiny_model(), nullptr, {{3}, {}}, "fp"), vlprompt::Error);
}

}  // namespace prompted_lm_test
