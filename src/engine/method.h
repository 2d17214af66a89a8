// What the Trainer and Evaluator need from a prompt-learning method, and nothing more: logits
// for a batch, a loss, the tensors to train, and state to checkpoint. Methods (prompts/) register
// themselves; the engine never names one.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/core/safetensors.h"

namespace vlprompt::engine {

// One mini-batch. `inputs` is either preprocessed images [B, 3, R, R] or frozen image features
// [B, D] (cached / pre-augmented views); `labels` [B] int64. A method whose data_needs() do not
// ask for images accepts both. Text batches hold token ids [B, L] int64 in `inputs`, right-padded
// with -1.
struct Batch {
  at::Tensor inputs;
  at::Tensor labels;
  bool inputs_are_features = false;
  // Domain id of every row [B] int64 (domain adaptation: source domains, target), or undefined.
  at::Tensor domains;
  // A second stream drawn alongside (Dassl's train_u: unlabelled target images, labels
  // undefined), or null. The data source fills it; the trainer only moves it to the device.
  std::shared_ptr<Batch> unlabelled;
  // Causal-LM text batches: [B, L] bool, true at the tokens the loss predicts (completions);
  // `labels` then holds exactly those tokens, flattened row by row, and the method's logits have
  // one row per true entry. Undefined for classification batches.
  at::Tensor target_mask;
};

// What a method needs from the data, so the caller can pick the sources: a method that changes
// the image features (image-side sites) must see images in training, validation and test.
struct DataNeeds {
  bool images_in_loop = false;
};

class TrainData;
class EvalData;

// What the training hooks may look at: the data of the run and where it runs.
struct HookContext {
  TrainData& train;
  EvalData* val;  // null without val data
  at::Device device;
  int64_t
      epoch;  // 0-based: the first epoch to run (before_train), the one just ended (after_epoch)
};

// One training step's outcome, detached: the loss value that was back-propagated and the logits
// the train accuracy is counted from.
struct StepOutput {
  at::Tensor loss;    // scalar
  at::Tensor logits;  // [B, num_classes]
};

class Method {
 public:
  virtual ~Method() = default;
  virtual std::string name() const = 0;

  virtual DataNeeds data_needs() const { return {}; }

  // logits [B, num_classes]. No loss here: losses live in loss().
  virtual at::Tensor forward(const Batch& batch) = 0;

  // Cross-entropy by default; methods add their own terms (pseudo-labels, consistency, ...).
  virtual at::Tensor loss(const at::Tensor& logits, const Batch& batch);

  // Computes the gradients of one batch (the trainer zeroes them before and steps after): by
  // default forward, loss, one backward. A method overrides it for several passes per batch
  // (chunks that would not fit in memory at once, two streams, ...). `where` names the batch
  // in errors.
  virtual StepOutput train_step(const Batch& batch, const std::string& where);

  // Called once before the first epoch of fit() and of every resume, and after every epoch
  // (before validation and the checkpoint): pseudo-labels, schedules of the method's own.
  virtual void before_train(const HookContext& context) {}
  virtual void after_epoch(const HookContext& context) {}
  // Numbers of the epoch just ended, logged in metrics.jsonl beside loss and accuracy (pseudo-label
  // shares, ...); called after after_epoch. Keys must not be the record's own ("loss", ...).
  virtual std::map<std::string, double> epoch_metrics(const HookContext& context) { return {}; }

  // Domain adaptation. The domains whose prompts the method holds (sources, then the target), or
  // empty; set_domain picks whose prompts classify batches without Batch::domains (an unknown name
  // is an Error listing them; the default refuses, as a method without domains has none).
  virtual std::vector<std::string> domains() const { return {}; }
  virtual void set_domain(const std::string& domain);
  virtual std::string domain() const { return ""; }  // the chosen one ("" without domains)
  // Labelled copies of the unlabelled stream's images, for reporting only (how good the
  // pseudo-labels are): never read by train_step or loss. Methods without pseudo-labels ignore it.
  virtual void set_unlabelled_reference(std::shared_ptr<EvalData> reference) {}

  // Moves the method's modules (frozen backbone included) to `device`. Called by the trainer
  // and the evaluator before any batch; a method without tensors of its own ignores it.
  virtual void to(const at::Device& device) {}

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
