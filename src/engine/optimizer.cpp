#include "src/engine/optimizer.h"

#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <cmath>
#include <type_traits>

#include "src/core/error.h"

namespace vlprompt::engine {
namespace {

constexpr char kStepKey[] = "step";

at::Tensor scalar_count(int64_t n) { return at::scalar_tensor(n, at::kLong); }

int64_t read_count(const at::Tensor& t, const std::string& name) {
  if (t.numel() != 1) {
    throw Error("optimizer state: '" + name + "' must hold one count, got shape " +
                c10::str(t.sizes()));
  }
  return t.to(at::kCPU, at::kLong).item<int64_t>();
}

// "exp_avg.12" -> ("exp_avg", "12"); names without an index give an empty index.
std::pair<std::string, std::string> split_name(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return {name, ""};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

}  // namespace

Optimizer::Optimizer(std::vector<at::Tensor> parameters, double lr)
    : parameters_(std::move(parameters)), lr_(lr) {
  if (parameters_.empty()) throw Error("optimizer: no trainable parameters were given");
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const at::Tensor& p = parameters_[i];
    if (!p.defined() || !p.is_floating_point() || !p.requires_grad()) {
      throw Error("optimizer: parameter " + std::to_string(i) +
                  " must be a floating-point tensor that requires grad");
    }
  }
}

void Optimizer::zero_grad() {
  for (at::Tensor& p : parameters_) p.mutable_grad().reset();
}

size_t Optimizer::checked_index(const std::string& name, const std::string& kind,
                                const at::Tensor& value) const {
  const std::string index = split_name(name).second;
  size_t i = 0;
  try {
    size_t used = 0;
    i = std::stoul(index, &used);
    if (used != index.size()) throw std::invalid_argument(index);
  } catch (const std::exception&) {
    throw Error("optimizer state: tensor '" + name + "' has no parameter index after '" + kind +
                ".'");
  }
  if (i >= parameters_.size()) {
    throw Error("optimizer state: tensor '" + name + "' names parameter " + std::to_string(i) +
                " but there are " + std::to_string(parameters_.size()));
  }
  if (kind != kStepKey && value.sizes() != parameters_[i].sizes()) {
    throw Error("optimizer state: tensor '" + name + "' has shape " + c10::str(value.sizes()) +
                ", parameter " + std::to_string(i) + " has " + c10::str(parameters_[i].sizes()));
  }
  return i;
}

void Optimizer::load_step(const core::TensorMap& state) {
  auto it = state.find(kStepKey);
  if (it == state.end()) throw Error("optimizer state: missing tensor 'step'");
  steps_ = read_count(it->second, kStepKey);
}

namespace {

// ---- The per-parameter state LibTorch keeps

// torch::optim keys a parameter's state by its TensorImpl: as a string in LibTorch 1.13 (Debian),
// as the pointer itself in 2.x (the CUDA builds). Both spellings, chosen by the map's key type.
template <class Map>
typename Map::key_type state_key(const Map&, const at::Tensor& p) {
  if constexpr (std::is_same_v<typename Map::key_type, std::string>) {
    return c10::guts::to_string(p.unsafeGetTensorImpl());
  } else {
    return static_cast<typename Map::key_type>(p.unsafeGetTensorImpl());
  }
}

template <class State>
State* find_state(torch::optim::Optimizer& optimizer, const at::Tensor& p) {
  auto& map = optimizer.state();
  const auto it = map.find(state_key(map, p));
  return it == map.end() ? nullptr : static_cast<State*>(it->second.get());
}

template <class State>
void put_state(torch::optim::Optimizer& optimizer, const at::Tensor& p,
               std::unique_ptr<State> state) {
  auto& map = optimizer.state();
  map[state_key(map, p)] = std::move(state);
}

at::Tensor loaded_like(const at::Tensor& value, const at::Tensor& parameter) {
  return value.to(parameter.device(), parameter.scalar_type()).clone();
}

}  // namespace

// ---- SGD

SGD::SGD(std::vector<at::Tensor> parameters, SGDOptions options)
    : Optimizer(std::move(parameters), options.lr()),
      options_(options),
      impl_(
          std::make_unique<torch::optim::SGD>(parameters_, torch::optim::SGDOptions(options.lr())
                                                               .momentum(options.momentum())
                                                               .dampening(options.dampening())
                                                               .weight_decay(options.weight_decay())
                                                               .nesterov(options.nesterov()))) {}

SGD::~SGD() = default;

void SGD::step() {
  impl_->param_groups()[0].options().set_lr(lr_);
  impl_->step();
  ++steps_;
}

core::TensorMap SGD::state() const {
  core::TensorMap out{{kStepKey, scalar_count(steps_)}};
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const auto* s = find_state<torch::optim::SGDParamState>(*impl_, parameters_[i]);
    if (s && s->momentum_buffer().defined()) {
      out["momentum_buffer." + std::to_string(i)] = s->momentum_buffer();
    }
  }
  return out;
}

void SGD::load_state(const core::TensorMap& state) {
  load_step(state);
  std::vector<at::Tensor> loaded(parameters_.size());
  for (const auto& [name, value] : state) {
    if (name == kStepKey) continue;
    const std::string kind = split_name(name).first;
    if (kind != "momentum_buffer")
      throw Error("optimizer state: unknown SGD tensor '" + name + "'");
    const size_t i = checked_index(name, kind, value);
    loaded[i] = loaded_like(value, parameters_[i]);
  }
  impl_->state().clear();
  for (size_t i = 0; i < loaded.size(); ++i) {
    if (!loaded[i].defined()) continue;
    auto s = std::make_unique<torch::optim::SGDParamState>();
    s->momentum_buffer(loaded[i]);
    put_state(*impl_, parameters_[i], std::move(s));
  }
}

// ---- AdamW

AdamW::AdamW(std::vector<at::Tensor> parameters, AdamWOptions options)
    : Optimizer(std::move(parameters), options.lr()),
      options_(options),
      impl_(std::make_unique<torch::optim::AdamW>(
          parameters_, torch::optim::AdamWOptions(options.lr())
                           .betas(std::make_tuple(options.beta1(), options.beta2()))
                           .eps(options.eps())
                           .weight_decay(options.weight_decay()))) {}

AdamW::~AdamW() = default;

void AdamW::step() {
  impl_->param_groups()[0].options().set_lr(lr_);
  impl_->step();
  ++steps_;
}

core::TensorMap AdamW::state() const {
  core::TensorMap out{{kStepKey, scalar_count(steps_)}};
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const auto* s = find_state<torch::optim::AdamWParamState>(*impl_, parameters_[i]);
    if (!s) continue;
    const std::string index = std::to_string(i);
    out["exp_avg." + index] = s->exp_avg();
    out["exp_avg_sq." + index] = s->exp_avg_sq();
    out["step." + index] = scalar_count(s->step());
  }
  return out;
}

void AdamW::load_state(const core::TensorMap& state) {
  load_step(state);
  const size_t n = parameters_.size();
  std::vector<at::Tensor> avg(n), avg_sq(n);
  std::vector<int64_t> steps(n, 0);
  for (const auto& [name, value] : state) {
    if (name == kStepKey) continue;
    const std::string kind = split_name(name).first;
    if (kind != "exp_avg" && kind != "exp_avg_sq" && kind != kStepKey) {
      throw Error("optimizer state: unknown AdamW tensor '" + name + "'");
    }
    const size_t i = checked_index(name, kind, value);
    if (kind == kStepKey) {
      steps[i] = read_count(value, name);
      continue;
    }
    (kind == "exp_avg" ? avg : avg_sq)[i] = loaded_like(value, parameters_[i]);
  }
  for (size_t i = 0; i < n; ++i) {
    if (avg[i].defined() != avg_sq[i].defined() || avg[i].defined() != (steps[i] > 0)) {
      throw Error("optimizer state: parameter " + std::to_string(i) +
                  " needs all of exp_avg, exp_avg_sq and step, or none");
    }
  }
  impl_->state().clear();
  for (size_t i = 0; i < n; ++i) {
    if (!avg[i].defined()) continue;
    auto s = std::make_unique<torch::optim::AdamWParamState>();
    s->step(steps[i]);
    s->exp_avg(avg[i]);
    s->exp_avg_sq(avg_sq[i]);
    put_state(*impl_, parameters_[i], std::move(s));
  }
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerOptions& o,
                                          std::vector<at::Tensor> parameters) {
  // LibTorch checks these too, but its message names no config key.
  if (o.lr() < 0 || o.weight_decay() < 0 || o.momentum() < 0) {
    throw Error("optimizer: optim.lr, optim.weight_decay and optim.momentum must be >= 0 (lr " +
                c10::str(o.lr()) + ", weight_decay " + c10::str(o.weight_decay()) + ", momentum " +
                c10::str(o.momentum()) + ")");
  }
  if (o.name() == "sgd" && o.nesterov() && (o.momentum() <= 0 || o.dampening() != 0)) {
    throw Error("optimizer: optim.nesterov needs optim.momentum > 0 and optim.dampening 0");
  }
  if (o.name() == "sgd") {
    return std::make_unique<SGD>(std::move(parameters), SGDOptions()
                                                            .lr(o.lr())
                                                            .momentum(o.momentum())
                                                            .weight_decay(o.weight_decay())
                                                            .dampening(o.dampening())
                                                            .nesterov(o.nesterov()));
  }
  if (o.name() == "adamw") {
    return std::make_unique<AdamW>(
        std::move(parameters),
        AdamWOptions().lr(o.lr()).beta1(o.beta1()).beta2(o.beta2()).eps(o.eps()).weight_decay(
            o.weight_decay()));
  }
  throw Error("optimizer: unknown name '" + o.name() + "'; expected sgd or adamw");
}

}  // namespace vlprompt::engine
