#include "prompts/delta_tuning/module_delta.h"

#include "src/core/error.h"

namespace vlprompt::prompts::delta_tuning {

class ModuleSites : public nn::DeltaSites {
 public:
  ModuleSites(ModuleDeltaImpl& owner, size_t tower) : owner_(owner), tower_(tower) {}
  bool has_module_sites() const override { return true; }
  std::optional<nn::LinearDelta> linear(int64_t layer, nn::LinearSite site) override {
    return owner_.linear_at(tower_, layer, site);
  }
  std::optional<nn::NormDelta> norm(int64_t layer, nn::NormSite site) override {
    return owner_.norm_at(tower_, layer, site);
  }
  at::Tensor sublayer_output(int64_t layer, nn::Sublayer sublayer,
                             const at::Tensor& output) override {
    return owner_.sublayer_at(tower_, layer, sublayer, output);
  }
  at::Tensor tower_tensor(const std::string& name) override {
    return owner_.tower_tensor_at(tower_, name);
  }
  // Module sites act on each position on its own: they leave alike what came in alike.
  nn::SharedPrefix shared_prefix() const override {
    return {owner_.same_for_every_row() ? nn::SharedPrefix::kUnlimited : 0, {}};
  }

 private:
  ModuleDeltaImpl& owner_;
  size_t tower_;
};

ModuleDeltaImpl::ModuleDeltaImpl(std::string method, std::vector<TowerLayout> layouts)
    : Delta(std::move(method)), layouts_(std::move(layouts)) {
  if (layouts_.empty()) throw Error(this->method() + ": no tower to act on");
  for (size_t t = 0; t < layouts_.size(); ++t) {
    towers_.push_back(register_module(layouts_[t].name, std::make_shared<torch::nn::Module>()));
    blocks_.push_back(towers_[t]->register_module("layers", torch::nn::ModuleList()));
    for (int64_t l = 0; l < layouts_[t].layers; ++l) {
      blocks_[t]->push_back(std::make_shared<torch::nn::Module>());
    }
    sites_.push_back(std::make_unique<ModuleSites>(*this, t));
  }
}

ModuleDeltaImpl::~ModuleDeltaImpl() = default;

nn::DeltaSites* ModuleDeltaImpl::sites(delta::Tower tower, const delta::SiteContext&) {
  for (size_t t = 0; t < layouts_.size(); ++t) {
    if (layouts_[t].tower == tower) return sites_[t].get();
  }
  return nullptr;
}

bool ModuleDeltaImpl::touches(delta::Tower tower) const {
  for (const auto& layout : layouts_) {
    if (layout.tower == tower) return true;
  }
  return false;
}

torch::nn::Module& ModuleDeltaImpl::slot(size_t t, int64_t layer, const std::string& name) {
  const auto key = std::make_tuple(t, layer, name);
  auto it = slots_.find(key);
  if (it != slots_.end()) return *it->second;
  torch::nn::Module& parent = layer < 0 ? *towers_.at(t) : *blocks_.at(t)[layer];
  auto module = parent.register_module(name, std::make_shared<torch::nn::Module>());
  slots_[key] = module;
  return *module;
}

at::Tensor ModuleDeltaImpl::add_parameter(size_t t, int64_t layer, const std::string& name,
                                          const std::string& param, at::Tensor value) {
  return slot(t, layer, name).register_parameter(param, value.to(layouts_[t].device));
}

std::string norm_key(int64_t layer, nn::NormSite site) {
  return std::to_string(layer) + ":" + std::to_string(static_cast<int>(site));
}

void check_dropout(double p, const std::string& key) {
  if (!(p >= 0 && p < 1)) throw Error(key + " is " + c10::str(p) + ", expected in [0, 1)");
}

}  // namespace vlprompt::prompts::delta_tuning
