// MLP-k, the VPT paper's head baseline (Jia et al., ECCV 2022, "Mlp-k: a multilayer perceptron with
// k layers instead of a linear layer as the classification head"): the frozen image feature (the
// projected class token) through k linear layers with ReLU between them, hidden width the
// feature's. Nothing inside the towers changes, so training runs on cached image features; the
// head is tied to its training classes.
#pragma once

#include <torch/arg.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "src/delta/delta.h"

namespace vlprompt::prompts {

struct MlpHeadOptions {
  TORCH_ARG(int64_t, k) = 3;
  TORCH_ARG(int64_t, hidden) = 0;  // 0: the image feature's width
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("k", k_, "linear layers in the head (1 is a linear head)");
    v("hidden", hidden_, "width of the hidden layers (0: the image feature's)");
    v("seed", seed_, "seed of the initialisation (default: the run seed)");
  }
};

class MlpHeadImpl : public delta::Delta, public delta::ClassHead {
 public:
  MlpHeadImpl(MlpHeadOptions options, const models::Clip& clip,
              const std::vector<std::string>& classnames);

  nn::DeltaSites* sites(delta::Tower, const delta::SiteContext&) override { return nullptr; }
  bool touches(delta::Tower) const override { return false; }
  at::Tensor head_logits(const at::Tensor& image_features) override;
  // Another class list is refused, naming both.
  void set_classnames(const std::vector<std::string>& classnames) override;
  std::map<std::string, std::string> hyperparameters() const override;

  torch::nn::ModuleList layers{nullptr};

 private:
  MlpHeadOptions options_;
  std::vector<std::string> classnames_;
};
TORCH_MODULE(MlpHead);

}  // namespace vlprompt::prompts
