// Class masks of a class-incremental run: a method's logits restricted to the classes a task
// allows, the others set to -inf, so softmax gives them nothing and they get no gradient (the
// L2P code's train_mask: `logits.index_fill(1, not_mask, -inf)`).
//
//   TaskMaskedMethod masked(method);
//   masked.set_masks(/*train=*/task_classes, /*eval=*/seen_classes);
//   trainer.fit(masked, task_train_data, &task_val_data);
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "src/engine/method.h"

namespace vlprompt::engine {

// logits [B, C] with every column outside `allowed` (class ids) at -inf. Error for an id outside
// [0, C) or an empty list.
at::Tensor mask_logits(const at::Tensor& logits, const std::vector<int64_t>& allowed);

// A Method that scores only some classes: `train` while training, `eval` otherwise; everything
// else is the wrapped method's. Its train_step is the plain forward-loss-backward, so a method's
// own chunked step (conditional prompts over the row budget) runs as one pass: the same gradient.
class TaskMaskedMethod : public Method {
 public:
  explicit TaskMaskedMethod(Method& inner) : inner_(inner) {}
  void set_masks(std::vector<int64_t> train, std::vector<int64_t> eval);

  std::string name() const override { return inner_.name(); }
  DataNeeds data_needs() const override { return inner_.data_needs(); }
  at::Tensor forward(const Batch& batch) override;
  at::Tensor loss(const at::Tensor& logits, const Batch& batch) override {
    return inner_.loss(logits, batch);
  }
  void before_train(const HookContext& context) override { inner_.before_train(context); }
  void after_epoch(const HookContext& context) override { inner_.after_epoch(context); }
  std::map<std::string, double> epoch_metrics(const HookContext& context) override {
    return inner_.epoch_metrics(context);
  }
  void to(const at::Device& device) override { inner_.to(device); }
  std::vector<at::Tensor> trainable_parameters() override { return inner_.trainable_parameters(); }
  core::TensorMap state() const override { return inner_.state(); }
  void load_state(const core::TensorMap& state) override { inner_.load_state(state); }
  void set_training(bool training) override;
  std::map<std::string, std::string> hyperparameters() const override {
    return inner_.hyperparameters();
  }
  std::string backbone_fingerprint() const override { return inner_.backbone_fingerprint(); }

 private:
  Method& inner_;
  std::vector<int64_t> train_, eval_;
  bool training_ = false;
};

}  // namespace vlprompt::engine
