// The optimizers a run trains with, on LibTorch's torch::optim::SGD and AdamW (PyTorch's update
// rules, op for op, so a run here follows the Python anchors: Dassl/CoOp use torch.optim.SGD;
// later methods AdamW). What this layer adds: the learning rate is set from outside each step by
// the schedule, and state() names every buffer ("momentum_buffer.<i>", "exp_avg.<i>", ...) so a
// checkpoint holds it in a safetensors file (never LibTorch's pickled archives) and a resumed run
// continues bit for bit.
//
//   SGD sgd(method.trainable_parameters(), SGDOptions().lr(0.002).momentum(0.9));
//   loss.backward(); sgd.step(); sgd.zero_grad();
#pragma once

#include <ATen/ATen.h>
#include <torch/arg.h>

namespace torch::optim {
class SGD;
class AdamW;
}  // namespace torch::optim

#include <memory>
#include <string>
#include <vector>

#include "src/core/safetensors.h"

namespace vlprompt::engine {

struct SGDOptions {
  TORCH_ARG(double, lr) = 0.002;
  TORCH_ARG(double, momentum) = 0.9;
  TORCH_ARG(double, weight_decay) = 5e-4;
  TORCH_ARG(double, dampening) = 0;
  TORCH_ARG(bool, nesterov) = false;
};

struct AdamWOptions {
  TORCH_ARG(double, lr) = 1e-3;
  TORCH_ARG(double, beta1) = 0.9;
  TORCH_ARG(double, beta2) = 0.999;
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 1e-2;
};

// Both optimizers' settings in one value (as Dassl's OPTIM section), for configs and the Trainer.
struct OptimizerOptions {
  TORCH_ARG(std::string, name) = "sgd";  // sgd | adamw
  TORCH_ARG(double, lr) = 0.002;
  TORCH_ARG(double, weight_decay) = 5e-4;
  TORCH_ARG(double, momentum) = 0.9;  // sgd
  TORCH_ARG(double, dampening) = 0;   // sgd
  TORCH_ARG(bool, nesterov) = false;  // sgd
  TORCH_ARG(double, beta1) = 0.9;     // adamw
  TORCH_ARG(double, beta2) = 0.999;   // adamw
  TORCH_ARG(double, eps) = 1e-8;      // adamw
  // > 0: the gradients' global L2 norm is clipped to it before each step (PyTorch's
  // clip_grad_norm_); 0: off.
  TORCH_ARG(double, clip_grad_norm) = 0;
};

class Optimizer {
 public:
  // Parameters must be defined floating-point tensors that require grad; Error otherwise.
  Optimizer(std::vector<at::Tensor> parameters, double lr);
  virtual ~Optimizer() = default;

  // One update from the parameters' gradients; parameters without a gradient are left alone
  // (as PyTorch does), and so is their state.
  virtual void step() = 0;
  // Drops the gradients (PyTorch's set_to_none): the next backward writes fresh ones.
  void zero_grad();

  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  int64_t steps() const { return steps_; }
  const std::vector<at::Tensor>& parameters() const { return parameters_; }

  // Buffers named "<kind>.<parameter index>" plus "step"; load_state checks every name and shape
  // and moves tensors to the parameters' device.
  virtual core::TensorMap state() const = 0;
  virtual void load_state(const core::TensorMap& state) = 0;

 protected:
  // The parameter index a state tensor named "<kind>.<i>" belongs to, checked against the
  // parameter's shape; Error naming the tensor otherwise.
  size_t checked_index(const std::string& name, const std::string& kind,
                       const at::Tensor& value) const;
  void load_step(const core::TensorMap& state);

  std::vector<at::Tensor> parameters_;
  double lr_;
  int64_t steps_ = 0;
};

// torch.optim.SGD: d = g + wd * p; buf = momentum * buf + (1 - dampening) * d (buf = d at a
// parameter's first step); d = nesterov ? d + momentum * buf : buf; p -= lr * d.
class SGD : public Optimizer {
 public:
  SGD(std::vector<at::Tensor> parameters, SGDOptions options);
  ~SGD() override;
  void step() override;
  core::TensorMap state() const override;
  void load_state(const core::TensorMap& state) override;

 private:
  SGDOptions options_;
  std::unique_ptr<torch::optim::SGD> impl_;  // holds the momentum buffers
};

// torch.optim.AdamW (decoupled weight decay, bias-corrected moments, per-parameter step count).
class AdamW : public Optimizer {
 public:
  AdamW(std::vector<at::Tensor> parameters, AdamWOptions options);
  ~AdamW() override;
  void step() override;
  core::TensorMap state() const override;
  void load_state(const core::TensorMap& state) override;

 private:
  AdamWOptions options_;
  std::unique_ptr<torch::optim::AdamW> impl_;  // holds the moments and per-parameter steps
};

// Error naming the value for an unknown optimizer name.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerOptions& options,
                                          std::vector<at::Tensor> parameters);

}  // namespace vlprompt::engine
