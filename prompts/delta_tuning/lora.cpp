#include "prompts/delta_tuning/lora.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "prompts/delta_tuning/module_factories.h"
#include "src/core/error.h"

namespace vlprompt::prompts::delta_tuning {

LoraImpl::LoraImpl(LoraOptions options, std::vector<TowerLayout> layouts)
    : ModuleDeltaImpl("lora", std::move(layouts)), options_(std::move(options)) {
  if (options_.r() < 1)
    throw Error("lora.r is " + std::to_string(options_.r()) + ", expected >= 1");
  if (!(std::isfinite(options_.alpha()) && options_.alpha() > 0)) {
    throw Error("lora.alpha is " + c10::str(options_.alpha()) + ", expected > 0");
  }
  check_dropout(options_.dropout(), "lora.dropout");
  const double r = static_cast<double>(options_.r());
  scaling_ = options_.use_rslora() ? options_.alpha() / std::sqrt(r) : options_.alpha() / r;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed());
  for (size_t t = 0; t < this->layouts().size(); ++t) {
    const TowerLayout& layout = this->layouts()[t];
    targets_.push_back(
        parse_targets(options_.target_modules(), options_.layers_to_transform(), layout, "lora"));
    for (int64_t l = 0; l < layout.layers; ++l) {
      for (const auto& [site, shape] : layout.linears) {
        if (!targets_[t].covers(l, site)) continue;
        // kaiming_uniform_(a = sqrt(5)): gain sqrt(2 / (1 + 5)), bound gain * sqrt(3 / fan_in).
        const double bound = 1.0 / std::sqrt(static_cast<double>(shape.in));
        const std::string name = site_name(layout, site);
        at::Tensor a = add_parameter(
            t, l, name, "lora_A",
            at::empty({options_.r(), shape.in}, at::kFloat).uniform_(-bound, bound, generator));
        at::Tensor b =
            add_parameter(t, l, name, "lora_B", at::zeros({shape.out, options_.r()}, at::kFloat));
        pairs_[{t, l, site}] = {a, b};
      }
    }
  }
  if (pairs_.empty()) throw Error("lora: target_modules and layers_to_transform select nothing");
}

std::optional<nn::LinearDelta> LoraImpl::linear_at(size_t t, int64_t layer, nn::LinearSite site) {
  const auto it = pairs_.find({t, layer, site});
  if (it == pairs_.end()) return std::nullopt;
  nn::LinearDelta delta;
  delta.low_rank.push_back(
      {it->second.first, it->second.second, scaling_, options_.dropout(), is_training()});
  return delta;
}

std::map<std::string, std::string> LoraImpl::hyperparameters() const {
  return core::to_strings(options_);
}

VLPROMPT_MODULE_DELTA(lora, "LoRA: low-rank updates of chosen projections (Hu et al., ICLR 2022)",
                      Lora, LoraOptions);

}  // namespace vlprompt::prompts::delta_tuning
