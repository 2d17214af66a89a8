// Perplexity and the zero-prompt comparison of a text run, in process, against a reference
// computed here one row at a time from the model's own logits (no padding, no batching).
#include "pipeline/lm_evaluation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/lm/lm_test_support.h"

namespace vlprompt::pipeline {
namespace {

using lm_test_support::tiny_llama;

// Rows of different lengths, so batches pad; completions start at different places.
std::vector<engine::TokenRow> causal_rows() {
  return {
      {{1, 5, 9, 12, 7, 3}, -1, 3}, {{1, 20, 21, 2}, -1, 1}, {{1, 30, 8, 8, 8, 2, 14, 18}, -1, 5}};
}

// Sum of -log p(token t | tokens < t) over each row's completion, and the token count.
std::pair<double, int64_t> reference_nll(models::llama::LlamaModel& model,
                                         const std::vector<engine::TokenRow>& rows) {
  at::NoGradGuard no_grad;
  double nll = 0;
  int64_t tokens = 0;
  for (const auto& row : rows) {
    const at::Tensor ids = at::tensor(row.ids, at::kLong).unsqueeze(0);
    const at::Tensor logp = at::log_softmax(model->logits(ids).squeeze(0).to(at::kDouble), -1);
    for (size_t t = row.target_start; t < row.ids.size(); ++t) {
      nll -= logp[t - 1][row.ids[t]].item<double>();
      ++tokens;
    }
  }
  return {nll, tokens};
}

TEST(LmEvaluation, PerplexityIsTheTokenWeightedMeanNllOfEveryCompletionToken) {
  auto model = tiny_llama();
  const auto rows = causal_rows();
  const auto [nll, tokens] = reference_nll(model, rows);
  ASSERT_EQ(tokens, 3 + 3 + 3);
  prompts::PromptedLmMethod method("zero-prompt", model, nullptr, {}, "sha256:x",
                                   prompts::PromptedLmOptions().task(prompts::LmTask::kCausalLm));
  for (int64_t batch_size : {1, 2, 3}) {
    engine::TokenData data(rows, batch_size);
    const nlohmann::json p = perplexity(method, data, at::Device(at::kCPU));
    EXPECT_EQ(p["tokens"], tokens) << batch_size;
    EXPECT_EQ(p["n"], 3);
    EXPECT_NEAR(p["nll"].get<double>(), nll / tokens, 1e-5) << batch_size;
    EXPECT_NEAR(p["ppl"].get<double>(), std::exp(nll / tokens), 1e-4) << batch_size;
  }
}

TEST(LmEvaluation, ComparisonRowsAreTheBaselineThenTheLearnedDelta) {
  auto model = tiny_llama();
  prompts::PromptedLmMethod baseline("zero-prompt", model, nullptr, {}, "sha256:x",
                                     prompts::PromptedLmOptions().task(prompts::LmTask::kCausalLm));
  auto delta = prompts::make_lm_delta("prompt_tuning",
                                      lm_test_support::config({{"prompt_tuning.n_virtual", "3"}}),
                                      lm_test_support::context(model, 5));
  prompts::PromptedLmMethod learned("prompt_tuning", model, delta, {}, "sha256:x",
                                    prompts::PromptedLmOptions().task(prompts::LmTask::kCausalLm));
  engine::TokenData data(causal_rows(), 2);
  TextTask task;
  task.task = prompts::LmTask::kCausalLm;
  nlohmann::json results{{"task", "lm"}};  // as a causal-LM run's header says
  evaluate_against_zero_prompt(learned, baseline, data, task, at::Device(at::kCPU), &results);
  ASSERT_EQ(results["comparison"].size(), 2u);
  EXPECT_EQ(results["comparison"][0]["name"], "zero-prompt model");
  EXPECT_EQ(results["comparison"][1]["name"], "learned: prompt_tuning");
  const auto [nll, tokens] = reference_nll(model, causal_rows());
  EXPECT_NEAR(results["zero_prompt"]["nll"].get<double>(), nll / tokens, 1e-5);
  // Virtual tokens change what the model predicts: the learned row is not the baseline's.
  EXPECT_GT(std::abs(results["test"]["nll"].get<double>() - nll / tokens), 1e-6);
  const std::vector<std::string> lines = text_summary(results);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[1].find("perplexity"), std::string::npos);
}

}  // namespace
}  // namespace vlprompt::pipeline
