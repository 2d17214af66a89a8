// Two tiny deltas whose sites are easy to tell apart, for testing composition without a backbone:
// Scale multiplies the tokens and appends one token holding its scale, Shift adds and appends two
// tokens holding its shift (so inserted_tokens() says what input_tokens really does); their
// layer tokens multiply / add, and their prefixes are ones / twos. Applying them in the two
// orders gives different numbers.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>

#include "src/delta/delta.h"

namespace vlprompt::testing {

class ScaleDeltaImpl : public delta::Delta, public nn::DeltaSites {
 public:
  explicit ScaleDeltaImpl(double scale, int64_t prefix = 1) : Delta("scale"), prefix_(prefix) {
    scale_ = register_parameter("scale", at::full({1}, scale));
  }
  nn::DeltaSites* sites(delta::Tower tower, const delta::SiteContext&) override {
    return tower == delta::Tower::kText ? this : nullptr;
  }
  bool touches(delta::Tower tower) const override { return tower == delta::Tower::kText; }
  std::map<std::string, std::string> hyperparameters() const override {
    return {{"prefix", std::to_string(prefix_)}};
  }
  at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor&) override {
    const at::Tensor added = scale_.expand({tokens.size(0), 1, tokens.size(2)});
    return at::cat({tokens * scale_, added}, 1);
  }
  int64_t inserted_tokens() const override { return 1; }
  at::Tensor layer_tokens(int64_t, const at::Tensor& x) override { return x * scale_; }
  std::optional<nn::KVPrefix> kv_prefix(int64_t, int64_t batch) override {
    at::Tensor k = at::ones({batch, prefix_, 4});
    return nn::KVPrefix{k, k * 10};
  }
  at::Tensor scale_;

 private:
  int64_t prefix_;
};
TORCH_MODULE(ScaleDelta);

class ShiftDeltaImpl : public delta::Delta, public nn::DeltaSites {
 public:
  explicit ShiftDeltaImpl(double shift) : Delta("shift") {
    shift_ = register_parameter("shift", at::full({1}, shift));
  }
  nn::DeltaSites* sites(delta::Tower, const delta::SiteContext&) override { return this; }
  bool touches(delta::Tower) const override { return true; }  // both towers
  std::map<std::string, std::string> hyperparameters() const override { return {}; }
  at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor&) override {
    const at::Tensor added = shift_.expand({tokens.size(0), 2, tokens.size(2)});
    return at::cat({tokens + shift_, added}, 1);
  }
  int64_t inserted_tokens() const override { return 2; }
  at::Tensor layer_tokens(int64_t, const at::Tensor& x) override { return x + shift_; }
  std::optional<nn::KVPrefix> kv_prefix(int64_t, int64_t batch) override {
    at::Tensor k = at::full({batch, 2, 4}, 2.0);
    return nn::KVPrefix{k, k * 10};
  }
  at::Tensor shift_;
};
TORCH_MODULE(ShiftDelta);

}  // namespace vlprompt::testing
