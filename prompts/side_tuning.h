// Side-tuning (Zhang et al., ECCV 2020), the VPT paper's "Side" baseline, on CLIP's image side: a
// small side network reads the pixels, and its feature is blended with the frozen tower's,
//   f = sigma(a) * frozen(x) + (1 - sigma(a)) * side(x),   a learned, 0 at the start,
// before the classifier (the classes' hand-written prompts, frozen, so the delta transfers to
// other class lists). The side network: two strided convolutions (kernel = stride = 4) with ReLU,
// global average pooling, a linear map to the embedding width; PyTorch's default initialisation
// drawn from the delta's seed.
#pragma once

#include <torch/arg.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "models/clip/clip_model.h"
#include "src/delta/delta.h"

namespace vlprompt::prompts {

struct SideTuningOptions {
  TORCH_ARG(int64_t, channels) = 32;
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("channels", channels_, "channels of the side network's first convolution (then twice)");
    v("seed", seed_, "seed of the initialisation (default: the run seed)");
  }
};

class SideTuningImpl : public delta::Delta, public delta::ImageFeatureBlend {
 public:
  SideTuningImpl(SideTuningOptions options, const models::Clip& clip);

  nn::DeltaSites* sites(delta::Tower, const delta::SiteContext&) override { return nullptr; }
  bool touches(delta::Tower) const override { return false; }
  at::Tensor blend(const at::Tensor& pixels, const at::Tensor& tower_features) override;
  std::map<std::string, std::string> hyperparameters() const override;

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear out{nullptr};
  at::Tensor alpha_logit;  // a; the frozen feature's weight is sigmoid(a)

 private:
  SideTuningOptions options_;
};
TORCH_MODULE(SideTuning);

}  // namespace vlprompt::prompts
