// Random weights that follow CLIP's initialize_parameters(), for demos and tests. Tensors CLIP
// leaves to PyTorch's defaults get those defaults' distributions (Linear/Conv: uniform with
// bound 1/sqrt(fan_in); MultiheadAttention: xavier-uniform in-projection, zero biases; norms:
// ones and zeros). Every draw comes from one generator seeded by `seed`, in name order.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <string>

#include "models/clip/load_clip.h"
#include "src/core/strings.h"

namespace vlprompt::models {
namespace {
using core::ends_with;

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The module a tensor belongs to ("visual.layer1.0.bn3" for "visual.layer1.0.bn3.weight").
std::string owner(const std::string& name) { return name.substr(0, name.rfind('.')); }
std::string leaf(const std::string& module) { return module.substr(module.rfind('.') + 1); }

bool is_norm(const std::string& module) {
  const std::string l = leaf(module);
  return starts_with(l, "ln_") || starts_with(l, "bn") || ends_with(module, "downsample.1");
}

class Initializer {
 public:
  Initializer(const ClipConfig& config, const core::TensorMap& shapes, uint64_t seed)
      : config_(config), shapes_(shapes), gen_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

  at::Tensor make(const std::string& name, const at::Tensor& like) {
    at::Tensor t = at::empty(like.sizes(), like.options().requires_grad(false));
    if (!t.is_floating_point()) return t.zero_();  // num_batches_tracked
    fill(name, t);
    return t;
  }

 private:
  void normal(at::Tensor& t, double std) { t.normal_(0.0, std, gen_); }
  void uniform(at::Tensor& t, double bound) { t.uniform_(-bound, bound, gen_); }

  // PyTorch's default for a Linear/Conv weight or bias: U(+-1/sqrt(fan_in)).
  void torch_default(const std::string& name, at::Tensor& t) {
    const at::Tensor& weight = shapes_.at(owner(name) + ".weight");
    const double fan_in = static_cast<double>(weight.numel() / weight.size(0));
    uniform(t, 1.0 / std::sqrt(fan_in));
  }

  void fill(const std::string& name, at::Tensor& t) {
    const std::string module = owner(name);
    const double text_width = static_cast<double>(config_.text.width);
    const double vision_width = static_cast<double>(config_.vision.width);
    const bool text_block = starts_with(name, "transformer.resblocks.");
    if (name == "logit_scale") {
      t.fill_(std::log(1.0 / 0.07));
    } else if (name == "token_embedding.weight") {
      normal(t, 0.02);
    } else if (name == "positional_embedding") {
      normal(t, 0.01);
    } else if (name == "text_projection") {
      normal(t, std::pow(text_width, -0.5));
    } else if (name == "visual.class_embedding" || name == "visual.positional_embedding" ||
               name == "visual.proj") {
      normal(t, std::pow(vision_width, -0.5));  // ViT: scale * randn
    } else if (name == "visual.attnpool.positional_embedding") {
      normal(t, std::pow(static_cast<double>(t.size(1)), -0.5));
    } else if (starts_with(name, "visual.attnpool.") && ends_with(name, "_proj.weight")) {
      normal(t, std::pow(static_cast<double>(t.size(1)), -0.5));  // c_proj.in_features^-0.5
    } else if (ends_with(name, "running_mean")) {
      t.zero_();
    } else if (ends_with(name, "running_var")) {
      t.fill_(1.0);
    } else if (is_norm(module)) {
      // CLIP zero-inits each Bottleneck's last norm so blocks start as identities.
      const bool zero =
          ends_with(name, ".bias") || (starts_with(name, "visual.layer") && leaf(module) == "bn3");
      t.fill_(zero ? 0.0 : 1.0);
    } else if (ends_with(name, "in_proj_bias") || ends_with(name, "out_proj.bias")) {
      t.zero_();
    } else if (text_block && ends_with(name, "attn.in_proj_weight")) {
      normal(t, std::pow(text_width, -0.5));
    } else if (text_block &&
               (ends_with(name, "attn.out_proj.weight") || ends_with(name, "mlp.c_proj.weight"))) {
      normal(t, std::pow(text_width, -0.5) * std::pow(2.0 * config_.text.layers, -0.5));
    } else if (text_block && ends_with(name, "mlp.c_fc.weight")) {
      normal(t, std::pow(2.0 * text_width, -0.5));
    } else if (ends_with(name, "in_proj_weight")) {
      // xavier_uniform over the fused [3w, w] matrix, as nn.MultiheadAttention does.
      uniform(t, std::sqrt(6.0 / static_cast<double>(t.size(0) + t.size(1))));
    } else {
      torch_default(name, t);
    }
  }

  const ClipConfig& config_;
  const core::TensorMap& shapes_;
  at::Generator gen_;
};

}  // namespace

Clip init_clip(const ClipConfig& config, uint64_t seed) {
  Clip model(config);
  const core::TensorMap shapes = model->weights();
  Initializer init(config, shapes, seed);
  core::TensorMap values;
  // Name order (the map's), so the draws do not depend on registration details.
  for (const auto& [name, like] : shapes) values[name] = init.make(name, like);
  model->load_weights(values, "config:" + config.name);
  return model;
}

}  // namespace vlprompt::models
