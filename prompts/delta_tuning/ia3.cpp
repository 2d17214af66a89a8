#include "prompts/delta_tuning/ia3.h"

#include "prompts/delta_tuning/module_factories.h"
#include "src/core/error.h"

namespace vlprompt::prompts::delta_tuning {

Ia3Impl::Ia3Impl(Ia3Options options, std::vector<TowerLayout> layouts)
    : ModuleDeltaImpl("ia3", std::move(layouts)), options_(std::move(options)) {
  for (size_t t = 0; t < this->layouts().size(); ++t) {
    const TowerLayout& layout = this->layouts()[t];
    targets_.push_back(
        parse_targets(options_.target_modules(), options_.layers_to_transform(), layout, "ia3"));
    feedforward_.push_back(options_.feedforward_modules().empty()
                               ? ModuleTargets{}
                               : parse_targets(options_.feedforward_modules(), "", layout, "ia3"));
    for (nn::LinearSite site : feedforward_[t].sites) {
      if (!targets_[t].sites.count(site)) {
        // PEFT's IA3Config refuses the same: feedforward_modules must be a subset.
        throw Error("ia3.feedforward_modules names " + site_name(layout, site) +
                    ", which target_modules does not; it must be a subset of them");
      }
    }
    for (int64_t l = 0; l < layout.layers; ++l) {
      for (const auto& [site, shape] : layout.linears) {
        if (!targets_[t].covers(l, site)) continue;
        const int64_t size = is_feedforward(t, site) ? shape.in : shape.out;
        vectors_[{t, l, site}] =
            add_parameter(t, l, site_name(layout, site), "ia3_l", at::ones({size}, at::kFloat));
      }
    }
  }
  if (vectors_.empty()) throw Error("ia3: target_modules and layers_to_transform select nothing");
}

bool Ia3Impl::is_feedforward(size_t t, nn::LinearSite site) const {
  return feedforward_.at(t).sites.count(site) > 0;
}

std::optional<nn::LinearDelta> Ia3Impl::linear_at(size_t t, int64_t layer, nn::LinearSite site) {
  const auto it = vectors_.find({t, layer, site});
  if (it == vectors_.end()) return std::nullopt;
  nn::LinearDelta delta;
  (is_feedforward(t, site) ? delta.input_scale : delta.output_scale) = it->second;
  return delta;
}

std::map<std::string, std::string> Ia3Impl::hyperparameters() const {
  return core::to_strings(options_);
}

VLPROMPT_MODULE_DELTA(ia3,
                      "IA3: learned rescaling of keys, values and the FFN's input (Liu et al., "
                      "NeurIPS 2022)",
                      Ia3, Ia3Options);

}  // namespace vlprompt::prompts::delta_tuning
