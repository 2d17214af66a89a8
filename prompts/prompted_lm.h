// The one Method for a frozen LLaMA-family LM with text deltas (Prompt Tuning, Prefix Tuning,
// P-Tuning, or a stack of them), the LM counterpart of PromptedClipMethod. Two tasks:
//   classification  rank classification through a verbalizer: every row's prompt (its template
//                   filled in) is continued by each class's label words, and the class score is
//                   the log-likelihood of those words (sum over their tokens, or the mean).
//                   Training is cross-entropy over the label options; logits [B, C].
//   causal LM       next-token prediction on the completion tokens only (Batch::target_mask);
//                   logits [T, vocab] for the T completion tokens, so the engine's cross-entropy
//                   is the mean completion NLL and exp of it the perplexity.
// Only the positions that are scored are projected onto the vocabulary. A null delta is the plain
// model (the zero-prompt baseline).
#pragma once

#include <torch/arg.h>

#include <memory>
#include <string>
#include <vector>

#include "models/llama/llama_model.h"
#include "src/delta/delta.h"
#include "src/engine/method.h"

namespace vlprompt::prompts {

enum class LmTask { kClassify, kCausalLm };
LmTask parse_lm_task(const std::string& name);  // "classify" | "lm"
std::string lm_task_name(LmTask task);

struct PromptedLmOptions {
  TORCH_ARG(LmTask, task) = LmTask::kClassify;
  // Rank classification: a class scores the sum of its label tokens' log-probabilities, or their
  // mean (length-normalised, for label words of very different lengths).
  TORCH_ARG(bool, mean_label_logprob) = false;
};

class PromptedLmMethod : public engine::Method {
 public:
  // `label_ids`: the token ids of each class's label words (no BOS), for classification; empty
  // for causal LM. `name` is the method as the run names it ("prompt_tuning").
  PromptedLmMethod(std::string name, models::llama::LlamaModel model,
                   std::shared_ptr<delta::Delta> delta, std::vector<std::vector<int64_t>> label_ids,
                   std::string fingerprint, PromptedLmOptions options = {});

  std::string name() const override { return name_; }
  at::Tensor forward(const engine::Batch& batch) override;
  std::vector<at::Tensor> trainable_parameters() override;
  // The delta's parameters as trained (a reparameterised delta's encoder included), for
  // checkpoints; the delta file holds delta_file_tensors().
  core::TensorMap state() const override;
  void load_state(const core::TensorMap& state) override;
  void set_training(bool training) override;
  // The delta's own (what rebuilds it); the task and label scoring travel in the run's records.
  std::map<std::string, std::string> hyperparameters() const override;
  std::string backbone_fingerprint() const override { return fingerprint_; }
  void to(const at::Device& device) override;

  // Class scores [B, C] of a classification batch (what forward returns for that task): each
  // prompt runs once, its keys and values shared by the C label continuations.
  at::Tensor class_scores(const at::Tensor& ids);
  // The same with B x C rows each holding the whole prompt (the reference the shared pass is
  // tested and benchmarked against).
  at::Tensor class_scores_per_row(const at::Tensor& ids);
  // Logits [T, vocab] of the completion tokens of a causal-LM batch.
  at::Tensor completion_logits(const at::Tensor& ids, const at::Tensor& target_mask);

  const std::shared_ptr<delta::Delta>& delta() const { return delta_; }
  models::llama::LlamaModel& model() { return model_; }
  const PromptedLmOptions& options() const { return options_; }

 private:
  nn::DeltaSites* sites();
  // Scores [B, C] from the hidden states [B * C, M, H] that predict each class's label tokens.
  at::Tensor score_labels(const at::Tensor& picked, const at::Tensor& labels,
                          const at::Tensor& label_len, int64_t b);

  std::string name_;
  models::llama::LlamaModel model_;
  std::shared_ptr<delta::Delta> delta_;
  at::Tensor label_ids_;  // [C, M] int64, padded with 0
  at::Tensor label_len_;  // [C] int64
  std::string fingerprint_;
  PromptedLmOptions options_;
  delta::SiteContext context_;
};

}  // namespace vlprompt::prompts
