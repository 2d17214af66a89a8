#include "prompts/delta_tuning/weight_tuning.h"

#include <algorithm>
#include <limits>

#include "prompts/delta_tuning/bitfit.h"
#include "prompts/registry.h"
#include "src/core/error.h"

namespace vlprompt::prompts::delta_tuning {
namespace {

at::Tensor trained_copy(const at::Tensor& t) {
  return t.defined() ? t.detach().clone().to(at::kFloat) : at::Tensor();
}

// "visual.conv1.weight" -> ("visual_conv1", "weight"); "positional_embedding" -> (it, "value").
std::pair<std::string, std::string> edge_slot(const std::string& name) {
  const size_t dot = name.rfind('.');
  std::string module = dot == std::string::npos ? name : name.substr(0, dot);
  std::replace(module.begin(), module.end(), '.', '_');
  return {module, dot == std::string::npos ? "value" : name.substr(dot + 1)};
}

}  // namespace

WeightTuningImpl::WeightTuningImpl(std::string method,
                                   std::map<std::string, std::string> hyperparameters,
                                   std::vector<TowerLayout> layouts,
                                   const std::vector<FrozenTower>& frozen, int64_t last_blocks,
                                   bool everything)
    : ModuleDeltaImpl(std::move(method), std::move(layouts)),
      hyperparameters_(std::move(hyperparameters)) {
  for (size_t t = 0; t < this->layouts().size(); ++t) {
    const TowerLayout& layout = this->layouts()[t];
    const FrozenTower& f = frozen.at(t);
    const int64_t first = std::max<int64_t>(0, layout.layers - last_blocks);
    for (int64_t l = first; l < layout.layers; ++l) {
      for (const auto& [site, shape] : layout.linears) {
        const auto& [weight, bias] = f.linear.at({l, site});
        nn::LinearDelta d;
        const std::string name = site_name(layout, site);
        d.weight = add_parameter(t, l, name, "weight", trained_copy(weight));
        if (bias.defined()) d.bias = add_parameter(t, l, name, "bias", trained_copy(bias));
        linears_[{t, l, site}] = d;
      }
    }
    for (const NormSlot& norm : layout.norms) {
      const bool block = norm.layer >= first;
      const bool final = norm.site == nn::NormSite::kFinal;
      if (!(block || final || everything)) continue;
      const auto& [weight, bias] = f.norm.at({norm.layer, norm.site});
      nn::NormDelta d;
      const std::string name = short_norm_name(norm);
      d.weight = add_parameter(t, norm.layer, name, "weight", trained_copy(weight));
      if (bias.defined()) d.bias = add_parameter(t, norm.layer, name, "bias", trained_copy(bias));
      norms_[{t, norm.layer, norm.site}] = d;
    }
    if (everything) {
      for (const auto& [name, tensor] : f.edges) {
        const auto [module, param] = edge_slot(name);
        edges_[{t, name}] = add_parameter(t, -1, module, param, trained_copy(tensor));
      }
    }
  }
}

std::optional<nn::LinearDelta> WeightTuningImpl::linear_at(size_t t, int64_t layer,
                                                           nn::LinearSite site) {
  const auto it = linears_.find({t, layer, site});
  if (it == linears_.end()) return std::nullopt;
  return it->second;
}

std::optional<nn::NormDelta> WeightTuningImpl::norm_at(size_t t, int64_t layer, nn::NormSite site) {
  const auto it = norms_.find({t, layer, site});
  if (it == norms_.end()) return std::nullopt;
  return it->second;
}

at::Tensor WeightTuningImpl::tower_tensor_at(size_t t, const std::string& name) {
  const auto it = edges_.find({t, name});
  return it == edges_.end() ? at::Tensor() : it->second;
}

namespace {

std::shared_ptr<delta::Delta> partial_on_clip(const core::ResolvedConfig& config,
                                              const std::string& section,
                                              const MethodContext& context) {
  const auto o = read_delta_options<PartialOptions>(config, section, context.seed);
  if (o.k() < 1) throw Error("partial.k is " + std::to_string(o.k()) + ", expected >= 1");
  auto layouts = clip_layouts(context.clip, o.towers(), "partial");
  const auto frozen = clip_frozen(context.clip, layouts);
  return WeightTuning("partial", core::to_strings(o), std::move(layouts), frozen, o.k(), false)
      .ptr();
}

std::shared_ptr<delta::Delta> partial_on_llama(const core::ResolvedConfig& config,
                                               const std::string& section,
                                               const LmMethodContext& context) {
  const auto o = read_delta_options<PartialOptions>(config, section, context.seed);
  if (o.k() < 1) throw Error("partial.k is " + std::to_string(o.k()) + ", expected >= 1");
  return WeightTuning("partial", core::to_strings(o),
                      llama_layouts(context.model->config(), context.model->head_weight().device()),
                      llama_frozen(context.model), o.k(), false)
      .ptr();
}

std::shared_ptr<delta::Delta> finetune_on_clip(const core::ResolvedConfig& config,
                                               const std::string& section,
                                               const MethodContext& context) {
  const auto o = read_delta_options<FinetuneOptions>(config, section, context.seed);
  auto layouts = clip_layouts(context.clip, o.towers(), "finetune");
  const auto frozen = clip_frozen(context.clip, layouts);
  return WeightTuning("finetune", core::to_strings(o), std::move(layouts), frozen,
                      std::numeric_limits<int64_t>::max() / 2, true)
      .ptr();
}

std::shared_ptr<delta::Delta> finetune_on_llama(const core::ResolvedConfig& config,
                                                const std::string& section,
                                                const LmMethodContext& context) {
  const auto o = read_delta_options<FinetuneOptions>(config, section, context.seed);
  return WeightTuning("finetune", core::to_strings(o),
                      llama_layouts(context.model->config(), context.model->head_weight().device()),
                      llama_frozen(context.model), std::numeric_limits<int64_t>::max() / 2, true)
      .ptr();
}

}  // namespace

static const MethodRegistrar partial_registration(MethodEntry{
    "partial", "Partial-k: the last k blocks and the final norm train (VPT paper's baseline)",
    partial_on_clip, nullptr, partial_on_llama, &core::describe_config<PartialOptions>});
static const MethodRegistrar finetune_registration(MethodEntry{
    "finetune", "Full fine-tuning: every tensor of the towers trains (the survey's FT row)",
    finetune_on_clip, nullptr, finetune_on_llama, &core::describe_config<FinetuneOptions>});

}  // namespace vlprompt::prompts::delta_tuning
