#include "prompts/prompted_lm.h"

#include <algorithm>

#include "src/core/error.h"

namespace vlprompt::prompts {

LmTask parse_lm_task(const std::string& name) {
  if (name == "classify") return LmTask::kClassify;
  if (name == "lm") return LmTask::kCausalLm;
  throw Error("unknown text task '" + name + "'; expected classify or lm");
}

std::string lm_task_name(LmTask task) { return task == LmTask::kClassify ? "classify" : "lm"; }

PromptedLmMethod::PromptedLmMethod(std::string name, models::llama::LlamaModel model,
                                   std::shared_ptr<delta::Delta> delta,
                                   std::vector<std::vector<int64_t>> label_ids,
                                   std::string fingerprint, PromptedLmOptions options)
    : name_(std::move(name)),
      model_(std::move(model)),
      delta_(std::move(delta)),
      fingerprint_(std::move(fingerprint)),
      options_(options) {
  if (options_.task() == LmTask::kClassify) {
    if (label_ids.empty()) throw Error(name_ + ": text classification needs label words");
    size_t longest = 0;
    for (size_t c = 0; c < label_ids.size(); ++c) {
      if (label_ids[c].empty())
        throw Error(name_ + ": the label words of class " + std::to_string(c) +
                    " tokenize to nothing");
      longest = std::max(longest, label_ids[c].size());
    }
    const auto classes = static_cast<int64_t>(label_ids.size());
    label_ids_ = at::zeros({classes, static_cast<int64_t>(longest)}, at::kLong);
    label_len_ = at::zeros({classes}, at::kLong);
    for (int64_t c = 0; c < classes; ++c) {
      const auto& ids = label_ids[c];
      label_ids_[c].slice(0, 0, static_cast<int64_t>(ids.size())).copy_(at::tensor(ids, at::kLong));
      label_len_[c] = static_cast<int64_t>(ids.size());
    }
  }
}

nn::DeltaSites* PromptedLmMethod::sites() {
  return delta_ ? delta_->sites(delta::Tower::kText, context_) : nullptr;
}

at::Tensor PromptedLmMethod::forward(const engine::Batch& batch) {
  if (!batch.inputs.defined() || batch.inputs.dim() != 2 || batch.inputs.scalar_type() != at::kLong)
    throw Error(name_ + ": expected token ids [B, L] int64 as the batch's inputs");
  if (options_.task() == LmTask::kCausalLm) {
    if (!batch.target_mask.defined())
      throw Error(name_ + ": a causal-LM batch needs a target mask (completion tokens)");
    return completion_logits(batch.inputs, batch.target_mask);
  }
  return class_scores(batch.inputs);
}

at::Tensor PromptedLmMethod::score_labels(const at::Tensor& picked, const at::Tensor& labels,
                                          const at::Tensor& label_len, int64_t b) {
  const int64_t classes = labels.size(0), m = labels.size(1);
  const at::Tensor step = at::arange(m, labels.options());
  const at::Tensor logp = at::log_softmax(at::linear(picked, model_->head_weight(sites())), -1);
  const at::Tensor token_logp =
      logp.gather(2, labels.unsqueeze(0).expand({b, classes, m}).reshape({b * classes, m, 1}))
          .view({b, classes, m});
  const at::Tensor valid = step.view({1, 1, m}).lt(label_len.view({1, classes, 1}));
  at::Tensor score = token_logp.masked_fill(valid.logical_not(), 0).sum(2);
  if (options_.mean_label_logprob()) score = score / label_len.view({1, classes});
  return score;
}

at::Tensor PromptedLmMethod::class_scores(const at::Tensor& ids) {
  const at::Device device = ids.device();
  const int64_t b = ids.size(0), classes = label_ids_.size(0), m = label_ids_.size(1);
  const at::Tensor labels = label_ids_.to(device), label_len = label_len_.to(device);
  const at::Tensor len = ids.ge(0).sum(1);  // [B]
  const int64_t longest = len.max().item<int64_t>();
  nn::DeltaSites* s = sites();
  const int64_t inserted = s ? s->inserted_tokens() : 0;
  // One pass over each prompt (right padding, which a causal model never attends to), its
  // keys and values kept; then every class's label tokens continue it.
  models::llama::LlamaCache cache;
  const at::Tensor prompt = model_->prefill(ids.slice(1, 0, longest).clamp_min(0), cache, s);
  const int64_t prefix = cache.length() - prompt.size(1);
  if (prompt.size(1) != inserted + longest) return class_scores_per_row(ids);  // not a plain insert
  const auto index = at::TensorOptions(device).dtype(at::kLong);
  // Label token 0 is predicted at the prompt's last position, the same for every class.
  const at::Tensor last = (len - 1 + inserted).view({b, 1, 1});
  const at::Tensor first = prompt.gather(1, last.expand({b, 1, prompt.size(2)}));  // [B, 1, H]
  at::Tensor picked = first.repeat_interleave(classes, 0);                         // [B * C, 1, H]
  if (m > 1) {
    // Row (b, c) continues prompt b with class c's label tokens 0 .. M-2 (predicting 1 .. M-1).
    const at::Tensor rows = at::arange(b, index).repeat_interleave(classes);
    const at::Tensor visible = (len + prefix + inserted).repeat_interleave(classes);
    const at::Tensor next = labels.slice(1, 0, m - 1).repeat({b, 1});
    picked = at::cat({picked, model_->continuation_states(cache, rows, visible, next, s)}, 1);
  }
  return score_labels(picked, labels, label_len, b);
}

at::Tensor PromptedLmMethod::class_scores_per_row(const at::Tensor& ids) {
  const at::Device device = ids.device();
  const int64_t b = ids.size(0), classes = label_ids_.size(0), m = label_ids_.size(1);
  const at::Tensor labels = label_ids_.to(device), label_len = label_len_.to(device);
  const at::Tensor len = ids.ge(0).sum(1);  // [B]
  const int64_t longest = len.max().item<int64_t>();
  // Row (b, c): the prompt's tokens, then class c's label tokens at len_b ... len_b + M - 1.
  // Right padding only follows the scored positions, which a causal model never attends to.
  at::Tensor seq = at::zeros({b, classes, longest + m}, ids.options());
  seq.slice(2, 0, longest)
      .copy_(ids.slice(1, 0, longest).clamp_min(0).unsqueeze(1).expand({b, classes, longest}));
  const at::Tensor step = at::arange(m, ids.options());
  const at::Tensor where = (len.unsqueeze(1) + step).unsqueeze(1).expand({b, classes, m});
  seq.scatter_(2, where, labels.unsqueeze(0).expand({b, classes, m}));
  nn::DeltaSites* s = sites();
  const at::Tensor hidden = model_->hidden_states(seq.view({b * classes, longest + m}), s);
  const int64_t inserted = s ? s->inserted_tokens() : 0;
  // Label token j is predicted at the position before it.
  const at::Tensor pos = (where + (inserted - 1)).reshape({b * classes, m, 1});
  const at::Tensor picked =
      hidden.gather(1, pos.expand({b * classes, m, hidden.size(2)}));  // [B*C, M, H]
  return score_labels(picked, labels, label_len, b);
}

at::Tensor PromptedLmMethod::completion_logits(const at::Tensor& ids,
                                               const at::Tensor& target_mask) {
  nn::DeltaSites* s = sites();
  const int64_t len = ids.ge(0).sum(1).max().item<int64_t>();
  const at::Tensor hidden = model_->hidden_states(ids.slice(1, 0, len).clamp_min(0), s);
  const int64_t inserted = s ? s->inserted_tokens() : 0;
  // Row-major (b, t) of every completion token, as the batch's labels are flattened; token t is
  // predicted by the hidden state before it.
  const at::Tensor at_ = target_mask.slice(1, 0, len).nonzero();
  const at::Tensor picked = hidden.index({at_.select(1, 0), at_.select(1, 1) + (inserted - 1)});
  return at::linear(picked, model_->head_weight(sites()));
}

std::vector<at::Tensor> PromptedLmMethod::trainable_parameters() {
  std::vector<at::Tensor> out;
  if (!delta_) return out;
  for (const auto& p : delta_->parameters())
    if (p.requires_grad()) out.push_back(p);
  return out;
}

core::TensorMap PromptedLmMethod::state() const {
  return delta_ ? delta_->named_tensors() : core::TensorMap{};
}

void PromptedLmMethod::load_state(const core::TensorMap& state) {
  if (delta_) delta_->load_named_tensors(state, name_ + " state");
}

void PromptedLmMethod::set_training(bool training) {
  if (delta_) delta_->train(training);
}

std::map<std::string, std::string> PromptedLmMethod::hyperparameters() const {
  return delta_ ? delta_->hyperparameters() : std::map<std::string, std::string>{};
}

void PromptedLmMethod::to(const at::Device& device) {
  model_->to(device);
  if (delta_) delta_->to(device);
}

}  // namespace vlprompt::prompts
