// Bottleneck adapters, the addition family's module: a sublayer's output h (before its residual
// add) becomes h + up(act(down(h))), down [w / reduction, w], up [w, w / reduction], each with a
// bias. Styles:
//   houlsby   after attention and after the FFN, reduction 16, swish (Houlsby et al., ICML 2019)
//   pfeiffer  after the FFN only, reduction 16, relu (Pfeiffer et al., EACL 2021)
//   vpt       after the FFN, reduction 8, gelu (the VPT paper's Adapter baseline)
// up starts at zero (weight and bias), so step 0 is the frozen model; down is N(0, 0.02) with a
// zero bias (adapter-hub's "bert" init). The VPT repository zero-initialises down as well, which
// leaves up's weight without a gradient for ever (its input act(down(h)) stays 0): we keep down
// random in every style.
#pragma once

#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include "prompts/delta_tuning/module_delta.h"

namespace vlprompt::prompts::delta_tuning {

struct AdapterOptions {
  TORCH_ARG(std::string, style) = "houlsby";
  TORCH_ARG(int64_t, reduction) = 0;        // 0: the style's
  TORCH_ARG(std::string, activation) = "";  // "": the style's
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(double, init_std) = 0.02;
  TORCH_ARG(std::string, layers_to_transform) = "";
  TORCH_ARG(std::string, towers) = "text,image";
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("style", style_, "houlsby (after attention and FFN) | pfeiffer (after FFN) | vpt");
    v("reduction", reduction_, "bottleneck = width / reduction (0: the style's: 16, 16, 8)");
    v("activation", activation_, "swish | relu | gelu (empty: the style's)");
    v("dropout", dropout_, "dropout on the bottleneck while training");
    v("init_std", init_std_, "std of the down projection's normal initialisation");
    v("layers_to_transform", layers_to_transform_, "blocks to adapt, comma-separated (empty: all)");
    v("towers", towers_, "CLIP towers to adapt: text, image or text,image (LLaMA: ignored)");
    v("seed", seed_, "seed of the initialisation (default: the run seed)");
  }
};

class AdapterImpl : public ModuleDeltaImpl {
 public:
  AdapterImpl(AdapterOptions options, std::vector<TowerLayout> layouts);

  at::Tensor sublayer_at(size_t t, int64_t layer, nn::Sublayer sublayer,
                         const at::Tensor& output) override;
  bool same_for_every_row() const override { return !is_training() || options_.dropout() == 0; }
  std::map<std::string, std::string> hyperparameters() const override;
  int64_t bottleneck(size_t t) const;

 private:
  struct Weights {
    at::Tensor down_weight, down_bias, up_weight, up_bias;
  };
  AdapterOptions options_;
  std::string activation_;
  std::map<std::tuple<size_t, int64_t, nn::Sublayer>, Weights> adapters_;
};
TORCH_MODULE(Adapter);

}  // namespace vlprompt::prompts::delta_tuning
