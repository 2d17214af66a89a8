// What the Trainer and Evaluator need from a prompt-learning method, and nothing more: logits
// for a batch, a loss, the tensors to train, and state to checkpoint. Methods (prompts/) register
// themselves; the engine never names one.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>
#include <vector>

#include "src/core/safetensors.h"

namespace vlprompt::engine {

// One mini-batch. `inputs` is either preprocessed images [B, 3, R, R] or frozen image features
// [B, D] (cached / pre-augmented views); `labels` [B] int64. A method must accept both.
struct Batch {
  at::Tensor inputs;
  at::Tensor labels;
  bool inputs_are_features = false;
};

class Method {
 public:
  virtual ~Method() = default;
  virtual std::string name() const = 0;

  // logits [B, num_classes]. No loss here: losses live in loss().
  virtual at::Tensor forward(const Batch& batch) = 0;

  // Cross-entropy by default; methods add their own terms (pseudo-labels, consistency, ...).
  virtual at::Tensor loss(const at::Tensor& logits, const Batch& batch);

  // Tensors the optimizer updates (the delta's; never the frozen backbone's).
  virtual std::vector<at::Tensor> trainable_parameters() = 0;

  // Named trainable state, for checkpoints and the delta file; load_state is its inverse and
  // checks names and shapes.
  virtual core::TensorMap state() const = 0;
  virtual void load_state(const core::TensorMap& state) = 0;

  virtual void set_training(bool training) {}

  // The settings that define the shape of state() (n_ctx, csc, ...), stored with the delta.
  virtual std::map<std::string, std::string> hyperparameters() const { return {}; }
  // The frozen backbone's fingerprint ("" for methods without one); a run resumes only on the
  // backbone it started with.
  virtual std::string backbone_fingerprint() const { return ""; }

  // Points the method at another class list (cross-dataset evaluation). Methods whose state is
  // tied to their classes refuse with an Error naming both lists.
  virtual void set_classnames(const std::vector<std::string>& classnames);
};

}  // namespace vlprompt::engine
