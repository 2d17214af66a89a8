#include "prompts/delta_tuning/ln_tuning.h"

#include "prompts/delta_tuning/bitfit.h"
#include "prompts/delta_tuning/module_factories.h"

namespace vlprompt::prompts::delta_tuning {

LnTuningImpl::LnTuningImpl(LnTuningOptions options, std::vector<TowerLayout> layouts)
    : ModuleDeltaImpl("ln_tuning", std::move(layouts)), options_(std::move(options)) {
  for (size_t t = 0; t < this->layouts().size(); ++t) {
    const TowerLayout& layout = this->layouts()[t];
    for (const NormSlot& norm : layout.norms) {
      const std::string name = short_norm_name(norm);
      nn::NormDelta delta;
      delta.weight_offset =
          add_parameter(t, norm.layer, name, "weight", at::zeros({layout.width}, at::kFloat));
      if (norm.has_bias) {
        delta.bias_offset =
            add_parameter(t, norm.layer, name, "bias", at::zeros({layout.width}, at::kFloat));
      }
      norms_[{t, norm_key(norm.layer, norm.site)}] = delta;
    }
  }
}

std::optional<nn::NormDelta> LnTuningImpl::norm_at(size_t t, int64_t layer, nn::NormSite site) {
  const auto it = norms_.find({t, norm_key(layer, site)});
  if (it == norms_.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, std::string> LnTuningImpl::hyperparameters() const {
  return core::to_strings(options_);
}

VLPROMPT_MODULE_DELTA(ln_tuning, "LN tuning: every norm's weight and bias (PEFT's LN_TUNING)",
                      LnTuning, LnTuningOptions);

}  // namespace vlprompt::prompts::delta_tuning
