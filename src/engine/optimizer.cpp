#include "src/engine/optimizer.h"

#include <cmath>

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

// ---- SGD

SGD::SGD(std::vector<at::Tensor> parameters, SGDOptions options)
    : Optimizer(std::move(parameters), options.lr()), options_(options) {
  momentum_.resize(parameters_.size());
}

void SGD::step() {
  at::NoGradGuard no_grad;
  const double momentum = options_.momentum(), decay = options_.weight_decay();
  for (size_t i = 0; i < parameters_.size(); ++i) {
    at::Tensor& p = parameters_[i];
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    at::Tensor d = decay != 0 ? g.add(p, decay) : g;
    if (momentum != 0) {
      at::Tensor& buf = momentum_[i];
      if (!buf.defined()) {
        buf = d.clone().detach();
      } else {
        buf.mul_(momentum).add_(d, 1 - options_.dampening());
      }
      d = options_.nesterov() ? d.add(buf, momentum) : buf;
    }
    p.add_(d, -lr_);
  }
  ++steps_;
}

core::TensorMap SGD::state() const {
  core::TensorMap out{{kStepKey, scalar_count(steps_)}};
  for (size_t i = 0; i < momentum_.size(); ++i) {
    if (momentum_[i].defined()) out["momentum_buffer." + std::to_string(i)] = momentum_[i];
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
    loaded[i] = value.to(parameters_[i].device(), parameters_[i].scalar_type()).clone();
  }
  momentum_ = std::move(loaded);
}

// ---- AdamW

AdamW::AdamW(std::vector<at::Tensor> parameters, AdamWOptions options)
    : Optimizer(std::move(parameters), options.lr()), options_(options) {
  exp_avg_.resize(parameters_.size());
  exp_avg_sq_.resize(parameters_.size());
  param_steps_.assign(parameters_.size(), 0);
}

// The op order of PyTorch 1.13's single-tensor AdamW (the Python anchors' version).
void AdamW::step() {
  at::NoGradGuard no_grad;
  const double beta1 = options_.beta1(), beta2 = options_.beta2();
  for (size_t i = 0; i < parameters_.size(); ++i) {
    at::Tensor& p = parameters_[i];
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    if (!exp_avg_[i].defined()) {
      exp_avg_[i] = at::zeros_like(p, at::MemoryFormat::Preserve);
      exp_avg_sq_[i] = at::zeros_like(p, at::MemoryFormat::Preserve);
    }
    const double step = static_cast<double>(++param_steps_[i]);
    p.mul_(1 - lr_ * options_.weight_decay());
    exp_avg_[i].mul_(beta1).add_(g, 1 - beta1);
    exp_avg_sq_[i].mul_(beta2).addcmul_(g, g, 1 - beta2);
    const double bias_correction1 = 1 - std::pow(beta1, step);
    const double bias_correction2_sqrt = std::sqrt(1 - std::pow(beta2, step));
    const at::Tensor denom = (exp_avg_sq_[i].sqrt() / bias_correction2_sqrt).add_(options_.eps());
    p.addcdiv_(exp_avg_[i], denom, -lr_ / bias_correction1);
  }
  ++steps_;
}

core::TensorMap AdamW::state() const {
  core::TensorMap out{{kStepKey, scalar_count(steps_)}};
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (!exp_avg_[i].defined()) continue;
    const std::string index = std::to_string(i);
    out["exp_avg." + index] = exp_avg_[i];
    out["exp_avg_sq." + index] = exp_avg_sq_[i];
    out["step." + index] = scalar_count(param_steps_[i]);
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
    const at::Tensor moved =
        value.to(parameters_[i].device(), parameters_[i].scalar_type()).clone();
    (kind == "exp_avg" ? avg : avg_sq)[i] = moved;
  }
  for (size_t i = 0; i < n; ++i) {
    if (avg[i].defined() != avg_sq[i].defined() || avg[i].defined() != (steps[i] > 0)) {
      throw Error("optimizer state: parameter " + std::to_string(i) +
                  " needs all of exp_avg, exp_avg_sq and step, or none");
    }
  }
  exp_avg_ = std::move(avg);
  exp_avg_sq_ = std::move(avg_sq);
  param_steps_ = std::move(steps);
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerOptions& o,
                                          std::vector<at::Tensor> parameters) {
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
