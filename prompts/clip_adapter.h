// CLIP-Adapter (Gao et al., IJCV 2023, arXiv 2110.04544; gaopengcuhk/CLIP-Adapter,
// clip_adapter.py): a bottleneck MLP on the frozen image feature,
//   x = ReLU(W2 ReLU(W1 f)),   W1 [D/r, D], W2 [D, D/r], no biases,
//   f' = ratio * x + (1 - ratio) * f,
// classified against the classes' hand-written prompts (the text tower is left alone). The
// adapter reads the feature only, so training runs on cached features or augmented views; the
// two layers start as nn.Linear's default (kaiming-uniform) drawn from the delta's seed.
#pragma once

#include <torch/arg.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "models/clip/clip_model.h"
#include "src/delta/delta.h"

namespace vlprompt::prompts {

struct ClipAdapterOptions {
  TORCH_ARG(int64_t, reduction) = 4;
  TORCH_ARG(double, ratio) = 0.2;
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("reduction", reduction_, "bottleneck width = feature width / reduction");
    v("ratio", ratio_, "weight of the adapted feature in the blend (the residual ratio)");
    v("seed", seed_, "seed of the initialisation (default: the run seed)");
  }
};

class ClipAdapterImpl : public delta::Delta, public delta::ImageFeatureMap {
 public:
  ClipAdapterImpl(ClipAdapterOptions options, const models::Clip& clip);

  nn::DeltaSites* sites(delta::Tower, const delta::SiteContext&) override { return nullptr; }
  bool touches(delta::Tower) const override { return false; }
  at::Tensor map_features(const at::Tensor& features) override;
  std::map<std::string, std::string> hyperparameters() const override;

  torch::nn::Linear down{nullptr}, up{nullptr};

 private:
  ClipAdapterOptions options_;
};
TORCH_MODULE(ClipAdapter);

}  // namespace vlprompt::prompts
