// VPT, Visual Prompt Tuning (Jia et al., ECCV 2022), on CLIP's image tower: n_ctx learned tokens
// join the sequence after the class token (once the positional embedding is added, before
// ln_pre); deep VPT replaces them before every later layer up to `depth` with that layer's own
// learned tokens. The class token is read as before, so the text side is unchanged: the classes'
// hand-written prompts (the prompted-CLIP method's template), and a VPT delta transfers to other
// class lists.
#pragma once

#include <ATen/ATen.h>
#include <torch/arg.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "src/core/config.h"
#include "src/delta/delta.h"

namespace vlprompt::prompts {

struct VptOptions {
  /// Vpt vpt(VptOptions().n_ctx(8).deep(true).depth(12), clip);
  TORCH_ARG(int64_t, n_ctx) = 8;
  // Deep: a set of tokens per layer, replacing the previous layer's up to `depth` layers.
  TORCH_ARG(bool, deep) = true;
  // Layers with their own tokens (deep only); more than the tower has means all of them.
  TORCH_ARG(int64_t, depth) = 12;
  // Dropout on the prompt tokens while training.
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(double, init_std) = 0.02;
  // "text": classify with the frozen text features of the hand-written prompts (the delta then
  // transfers to any class list); "linear": a linear head on the image feature (the projected
  // class token), as in the VPT paper, tied to the training classes.
  TORCH_ARG(std::string, head) = "text";
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("n_ctx", n_ctx_, "prompt tokens per layer");
    v("deep", deep_, "a set of tokens per layer (false: input layer only)");
    v("depth", depth_, "layers with their own tokens when deep (capped at the tower's layers)");
    v("dropout", dropout_, "dropout on the prompt tokens while training");
    v("init_std", init_std_, "std of the prompts' normal initialisation");
    v("head", head_, "classifier: text (hand-written prompts, frozen) | linear (VPT paper)");
    v("seed", seed_, "seed of the initialisation (default: the run seed)");
  }
};

class VptImageSites;

class VptImpl : public delta::Delta, public delta::ClassHead {
 public:
  // `classnames` sizes the linear head (head: linear); the text head needs none.
  VptImpl(VptOptions options, const models::Clip& clip,
          const std::vector<std::string>& classnames = {});
  ~VptImpl() override;

  nn::DeltaSites* sites(delta::Tower tower, const delta::SiteContext& context) override;
  bool touches(delta::Tower tower) const override { return tower == delta::Tower::kImage; }
  // Provided as delta::ClassHead with head: linear only.
  at::Tensor head_logits(const at::Tensor& image_features) override;
  // A linear head refuses another class list, naming both.
  void set_classnames(const std::vector<std::string>& classnames) override;
  // n_ctx, deep, depth (the layers that have tokens), dropout, init_std, seed.
  std::map<std::string, std::string> hyperparameters() const override;
  const VptOptions& options() const { return options_; }

  // [depth, n_ctx, width]: row 0 enters with the input, row l replaces them before layer l.
  at::Tensor prompts;
  torch::nn::Linear head{nullptr};  // [embed_dim -> C] with head: linear

 private:
  friend class VptImageSites;
  VptOptions options_;
  std::vector<std::string> classnames_;
  std::unique_ptr<VptImageSites> image_sites_;
};
TORCH_MODULE(Vpt);

}  // namespace vlprompt::prompts
