// A linear classifier on fixed random features: the smallest Method that learns, for testing the
// engine without CLIP. Its data come from a random linear teacher, so the loss can fall.
#pragma once

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <limits>

#include "src/core/error.h"
#include "src/engine/method.h"
#include "src/engine/train_data.h"

namespace vlprompt::engine::testing {

inline at::Generator toy_generator(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

class ToyMethod : public Method {
 public:
  ToyMethod(int64_t dim, int64_t classes, uint64_t init_seed) {
    weight_ = (at::randn({classes, dim}, toy_generator(init_seed)) * 0.01).requires_grad_();
    bias_ = at::zeros({classes}).requires_grad_();
  }
  std::string name() const override { return "toy_linear"; }
  std::map<std::string, std::string> hyperparameters() const override {
    return {{"setting", setting}};
  }
  std::string backbone_fingerprint() const override { return backbone; }
  std::string backbone = "sha256:toy";
  std::string setting = "a";  // stands for a hyper-parameter (the initial values are not one)
  at::Tensor forward(const Batch& batch) override {
    ++forward_calls;
    return at::addmm(bias_, batch.inputs, weight_.t());
  }
  at::Tensor loss(const at::Tensor& logits, const Batch& batch) override {
    at::Tensor loss = Method::loss(logits, batch);
    // A poisoned batch: the loss becomes NaN at the chosen forward call (1-based).
    if (forward_calls == nan_at_call) loss = loss * std::numeric_limits<double>::quiet_NaN();
    return loss;
  }
  std::vector<at::Tensor> trainable_parameters() override { return {weight_, bias_}; }
  core::TensorMap state() const override { return {{"weight", weight_}, {"bias", bias_}}; }
  void load_state(const core::TensorMap& state) override {
    at::NoGradGuard no_grad;
    copy_into(state, "weight", weight_);
    copy_into(state, "bias", bias_);
  }

  int64_t forward_calls = 0;
  int64_t nan_at_call = -1;

 private:
  static void copy_into(const core::TensorMap& state, const std::string& name, at::Tensor& target) {
    auto it = state.find(name);
    if (it == state.end() || it->second.sizes() != target.sizes()) {
      throw Error("toy state: bad or missing '" + name + "'");
    }
    target.copy_(it->second);
  }

  at::Tensor weight_, bias_;
};

// `n` features [n, dim] labelled by a random linear teacher with `classes` outputs.
inline TensorData toy_data(int64_t n, int64_t dim, int64_t classes, uint64_t seed,
                           int64_t eval_batch_size = 16) {
  at::Generator gen = toy_generator(seed);
  const at::Tensor x = at::randn({n, dim}, gen);
  const at::Tensor teacher = at::randn({dim, classes}, toy_generator(1234));
  return TensorData(x, x.matmul(teacher).argmax(1), /*inputs_are_features=*/true, eval_batch_size);
}

}  // namespace vlprompt::engine::testing
