#include "prompts/delta_tuning/bitfit.h"

#include "prompts/delta_tuning/module_factories.h"
#include "src/core/error.h"

namespace vlprompt::prompts::delta_tuning {

std::string short_norm_name(const NormSlot& norm) {
  const size_t dot = norm.name.rfind('.');
  return dot == std::string::npos ? norm.name : norm.name.substr(dot + 1);
}

BitFitImpl::BitFitImpl(BitFitOptions options, std::vector<TowerLayout> layouts)
    : ModuleDeltaImpl("bitfit", std::move(layouts)), options_(std::move(options)) {
  if (!options_.linears() && !options_.norms()) {
    throw Error("bitfit: linears and norms are both false; there is nothing to tune");
  }
  for (size_t t = 0; t < this->layouts().size(); ++t) {
    const TowerLayout& layout = this->layouts()[t];
    if (options_.linears()) {
      for (int64_t l = 0; l < layout.layers; ++l) {
        for (const auto& [site, shape] : layout.linears) {
          linear_bias_[{t, l, site}] = add_parameter(t, l, site_name(layout, site), "bias",
                                                     at::zeros({shape.out}, at::kFloat));
        }
      }
    }
    if (options_.norms()) {
      for (const NormSlot& norm : layout.norms) {
        norm_bias_[{t, norm_key(norm.layer, norm.site)}] = add_parameter(
            t, norm.layer, short_norm_name(norm), "bias", at::zeros({layout.width}, at::kFloat));
      }
    }
  }
}

std::optional<nn::LinearDelta> BitFitImpl::linear_at(size_t t, int64_t layer, nn::LinearSite site) {
  const auto it = linear_bias_.find({t, layer, site});
  if (it == linear_bias_.end()) return std::nullopt;
  nn::LinearDelta delta;
  delta.bias_offset = it->second;
  return delta;
}

std::optional<nn::NormDelta> BitFitImpl::norm_at(size_t t, int64_t layer, nn::NormSite site) {
  const auto it = norm_bias_.find({t, norm_key(layer, site)});
  if (it == norm_bias_.end()) return std::nullopt;
  nn::NormDelta delta;
  delta.bias_offset = it->second;
  return delta;
}

std::map<std::string, std::string> BitFitImpl::hyperparameters() const {
  return core::to_strings(options_);
}

VLPROMPT_MODULE_DELTA(bitfit,
                      "BitFit: bias offsets on every projection and norm (Ben Zaken et al., ACL "
                      "2022)",
                      BitFit, BitFitOptions);

}  // namespace vlprompt::prompts::delta_tuning
