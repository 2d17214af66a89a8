#include "prompts/delta_tuning/adapter.h"

#include <ATen/CPUGeneratorImpl.h>

#include "prompts/delta_tuning/module_factories.h"
#include "src/core/error.h"

namespace vlprompt::prompts::delta_tuning {

AdapterImpl::AdapterImpl(AdapterOptions options, std::vector<TowerLayout> layouts)
    : ModuleDeltaImpl("adapter", std::move(layouts)), options_(std::move(options)) {
  const std::string& style = options_.style();
  if (style != "houlsby" && style != "pfeiffer" && style != "vpt") {
    throw Error("adapter.style is '" + style + "', expected houlsby, pfeiffer or vpt");
  }
  if (options_.reduction() == 0) options_.reduction(style == "vpt" ? 8 : 16);
  if (options_.reduction() < 1) {
    throw Error("adapter.reduction is " + std::to_string(options_.reduction()) +
                ", expected >= 1 (or 0 for the style's)");
  }
  activation_ = !options_.activation().empty() ? options_.activation()
                : style == "houlsby"           ? "swish"
                : style == "pfeiffer"          ? "relu"
                                               : "gelu";
  if (activation_ != "swish" && activation_ != "relu" && activation_ != "gelu") {
    throw Error("adapter.activation is '" + activation_ + "', expected swish, relu or gelu");
  }
  check_dropout(options_.dropout(), "adapter.dropout");
  if (!(options_.init_std() > 0)) {
    throw Error("adapter.init_std is " + c10::str(options_.init_std()) + ", expected > 0");
  }
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed());
  std::vector<nn::Sublayer> where{nn::Sublayer::kMlp};
  if (style == "houlsby") where.insert(where.begin(), nn::Sublayer::kAttention);
  for (size_t t = 0; t < this->layouts().size(); ++t) {
    const TowerLayout& layout = this->layouts()[t];
    const int64_t b = bottleneck(t);
    // layers_to_transform only: an adapter has no target module, it sits after a sublayer.
    const ModuleTargets blocks =
        parse_targets("all-linear", options_.layers_to_transform(), layout, "adapter");
    for (int64_t l = 0; l < layout.layers; ++l) {
      if (!blocks.layers.empty() && !blocks.layers.count(l)) continue;
      for (nn::Sublayer s : where) {
        const std::string name =
            s == nn::Sublayer::kAttention ? "adapter_attention" : "adapter_mlp";
        Weights w;
        w.down_weight = add_parameter(
            t, l, name, "down_weight",
            at::empty({b, layout.width}, at::kFloat).normal_(0.0, options_.init_std(), generator));
        w.down_bias = add_parameter(t, l, name, "down_bias", at::zeros({b}, at::kFloat));
        w.up_weight =
            add_parameter(t, l, name, "up_weight", at::zeros({layout.width, b}, at::kFloat));
        w.up_bias = add_parameter(t, l, name, "up_bias", at::zeros({layout.width}, at::kFloat));
        adapters_[{t, l, s}] = w;
      }
    }
  }
}

int64_t AdapterImpl::bottleneck(size_t t) const {
  const int64_t width = layouts().at(t).width;
  if (options_.reduction() > width) {
    throw Error("adapter.reduction " + std::to_string(options_.reduction()) +
                " leaves no bottleneck of the " + layouts()[t].name + " tower's width " +
                std::to_string(width));
  }
  return width / options_.reduction();
}

at::Tensor AdapterImpl::sublayer_at(size_t t, int64_t layer, nn::Sublayer sublayer,
                                    const at::Tensor& output) {
  const auto it = adapters_.find({t, layer, sublayer});
  if (it == adapters_.end()) return output;
  const Weights& w = it->second;
  at::Tensor z = at::linear(output, w.down_weight, w.down_bias);
  z = activation_ == "swish" ? at::silu(z) : activation_ == "relu" ? at::relu(z) : at::gelu(z);
  if (options_.dropout() > 0) z = at::dropout(z, options_.dropout(), is_training());
  return output + at::linear(z, w.up_weight, w.up_bias);
}

std::map<std::string, std::string> AdapterImpl::hyperparameters() const {
  return core::to_strings(options_);
}

VLPROMPT_MODULE_DELTA(adapter,
                      "Bottleneck adapters after the sublayers: houlsby, pfeiffer or vpt style",
                      Adapter, AdapterOptions);

}  // namespace vlprompt::prompts::delta_tuning
