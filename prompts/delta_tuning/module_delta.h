// The base of the Delta Tuning methods that act at module-level sites (LoRA, IA3, adapters,
// BitFit, LN tuning): a Delta over one or more tower layouts, its tensors kept in a tree that
// mirrors the backbone's blocks, so the delta file names them by where they act:
//   "<tower>.layers.<block>.<site>.<param>"   e.g. lora.text.layers.3.q_proj.lora_A
//   "<tower>.<norm>.<param>"                  e.g. bitfit.image.ln_post.bias
// A method overrides the hooks for the sites it fills; the rest stay the frozen model's.
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "prompts/delta_tuning/site_layout.h"
#include "src/delta/delta.h"

namespace vlprompt::prompts::delta_tuning {

// The keys of a method that has no shape of its own (LN tuning, full fine-tuning): which CLIP
// towers it acts on, and the run keys' seed, unused because it starts as the frozen model.
struct TowersOptions {
  TORCH_ARG(std::string, towers) = "text,image";
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("towers", towers_, "CLIP towers to tune: text, image or text,image (LLaMA: ignored)");
    v("seed", seed_, "unused (it starts as the frozen model); kept for the common run keys");
  }
};

class ModuleSites;

class ModuleDeltaImpl : public delta::Delta {
 public:
  ModuleDeltaImpl(std::string method, std::vector<TowerLayout> layouts);
  ~ModuleDeltaImpl() override;

  nn::DeltaSites* sites(delta::Tower tower, const delta::SiteContext& context) override;
  bool touches(delta::Tower tower) const override;
  const std::vector<TowerLayout>& layouts() const { return layouts_; }

  // What tower `t`'s sites return; the defaults leave a site as the frozen model has it.
  virtual std::optional<nn::LinearDelta> linear_at(size_t t, int64_t layer, nn::LinearSite site) {
    return std::nullopt;
  }
  virtual std::optional<nn::NormDelta> norm_at(size_t t, int64_t layer, nn::NormSite site) {
    return std::nullopt;
  }
  virtual at::Tensor sublayer_at(size_t t, int64_t layer, nn::Sublayer sublayer,
                                 const at::Tensor& output) {
    return output;
  }
  virtual at::Tensor tower_tensor_at(size_t t, const std::string& name) { return at::Tensor(); }

  // Whether the sites act on every row alike (no dropout drawn per token while training): then
  // rows sharing leading tokens may share their computation (nn::SharedPrefix).
  virtual bool same_for_every_row() const { return true; }

 protected:
  // The module holding tower t's tensors for `name` at block `layer` (-1: the tower itself, for
  // its input and final norms), created on first use.
  torch::nn::Module& slot(size_t t, int64_t layer, const std::string& name);
  // A parameter registered in slot(t, layer, name), on the tower's device.
  at::Tensor add_parameter(size_t t, int64_t layer, const std::string& name,
                           const std::string& param, at::Tensor value);

 private:
  std::vector<TowerLayout> layouts_;
  std::vector<std::shared_ptr<torch::nn::Module>> towers_;
  std::vector<torch::nn::ModuleList> blocks_;
  std::map<std::tuple<size_t, int64_t, std::string>, std::shared_ptr<torch::nn::Module>> slots_;
  std::vector<std::unique_ptr<ModuleSites>> sites_;
};

// The tower's norms a method acts on: every norm of the layout, indexed by (layer, site).
std::string norm_key(int64_t layer, nn::NormSite site);

// A dropout probability in [0, 1), or an Error naming `key`.
void check_dropout(double p, const std::string& key);

}  // namespace vlprompt::prompts::delta_tuning
