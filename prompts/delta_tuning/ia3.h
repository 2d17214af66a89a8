// IA3 (Liu et al., "Few-Shot Parameter-Efficient Fine-Tuning is Better and Cheaper than In-Context
// Learning", NeurIPS 2022) as PEFT implements it (peft/tuners/ia3/layer.py, Linear.forward):
// a learned vector initialised to 1 rescales each targeted projection, on its output, or on its
// input for the feed-forward ones:
//   y = (W x + b) * l        (keys, values)          l [out]
//   y = W (x * l) + b        (the FFN's down proj)   l [in]
// PEFT's defaults for LLaMA: target_modules k_proj, v_proj, down_proj; feedforward_modules
// down_proj. On CLIP the same names reach in_proj's k and v rows and mlp.c_proj.
#pragma once

#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include "prompts/delta_tuning/module_delta.h"

namespace vlprompt::prompts::delta_tuning {

struct Ia3Options {
  TORCH_ARG(std::string, target_modules) = "k_proj,v_proj,down_proj";
  TORCH_ARG(std::string, feedforward_modules) = "down_proj";
  TORCH_ARG(std::string, layers_to_transform) = "";
  TORCH_ARG(std::string, towers) = "text,image";
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("target_modules", target_modules_, "projections to rescale (PEFT's names), or all-linear");
    v("feedforward_modules", feedforward_modules_,
      "targets whose input is rescaled instead of their output");
    v("layers_to_transform", layers_to_transform_, "blocks to adapt, comma-separated (empty: all)");
    v("towers", towers_, "CLIP towers to adapt: text, image or text,image (LLaMA: ignored)");
    v("seed", seed_, "unused (the vectors start at 1); kept for the common run keys");
  }
};

class Ia3Impl : public ModuleDeltaImpl {
 public:
  Ia3Impl(Ia3Options options, std::vector<TowerLayout> layouts);

  std::optional<nn::LinearDelta> linear_at(size_t t, int64_t layer, nn::LinearSite site) override;
  std::map<std::string, std::string> hyperparameters() const override;
  const Ia3Options& options() const { return options_; }
  // Whether `site` of tower t is a feed-forward target (its input is scaled).
  bool is_feedforward(size_t t, nn::LinearSite site) const;

 private:
  Ia3Options options_;
  std::vector<ModuleTargets> targets_, feedforward_;
  std::map<std::tuple<size_t, int64_t, nn::LinearSite>, at::Tensor> vectors_;
};
TORCH_MODULE(Ia3);

}  // namespace vlprompt::prompts::delta_tuning
