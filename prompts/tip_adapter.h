// Tip-Adapter and Tip-Adapter-F (Zhang et al., ECCV 2022; gaopengcuhk/Tip-Adapter at d0e2d6f):
// a cache model of the few-shot training set beside the hand-written prompts' classifier,
//   keys   K = normalise(mean over V augmented views of each training image's frozen feature)
//   values V = one-hot labels [M, C]
//   logits = CLIP's logits + alpha * exp(-beta (1 - f K^T)) V,   f the normalised image feature
// (tip_search.h). Tip-Adapter trains nothing; Tip-Adapter-F ("fine-tuned") trains the keys from
// the cache with alpha and beta at their initial values. Either way alpha and beta are then
// searched on the labelled val split and kept as the delta's hyper-parameters, so a delta file
// reproduces the run's logits. The first term is the method's own CLIP logits, exp(logit_scale)
// times the cosine: the reference's fixed 100 is OpenAI CLIP's exp(logit_scale).
//
// Not copied from the reference: it searches alpha and beta on the test set for ImageNet
// (main_imagenet.py) and keeps Tip-Adapter-F's epoch best on the test set (main.py); here the
// search reads val only, and the epoch is the trainer's (`select: best_val`, on val).
//
// The keys and values are parameters (so the delta file and checkpoints hold them); only
// Tip-Adapter-F's keys require a gradient. The values tie the delta to its classes.
#pragma once

#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "src/delta/delta.h"

namespace vlprompt::prompts {

struct TipAdapterOptions {
  TORCH_ARG(double, alpha) = 1.17;
  TORCH_ARG(double, beta) = 1.0;
  TORCH_ARG(bool, search) = true;
  TORCH_ARG(double, search_scale_beta) = 7;
  TORCH_ARG(double, search_scale_alpha) = 3;
  TORCH_ARG(int64_t, search_step_beta) = 200;
  TORCH_ARG(int64_t, search_step_alpha) = 20;
  TORCH_ARG(int64_t, augment_views) = 10;
  TORCH_ARG(double, augment_scale_min) = 0.5;
  TORCH_ARG(int64_t, cache_size) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("alpha", alpha_, "weight of the cache logits (init_alpha; replaced by the val search's)");
    v("beta", beta_, "sharpness of the affinities (init_beta; replaced by the val search's)");
    v("search", search_, "search alpha and beta on the val split after training (search_hp)");
    v("search_scale_beta", search_scale_beta_, "largest beta of the search grid (search_scale[0])");
    v("search_scale_alpha", search_scale_alpha_,
      "largest alpha of the search grid (search_scale[1])");
    v("search_step_beta", search_step_beta_, "betas in the search grid (search_step[0])");
    v("search_step_alpha", search_step_alpha_, "alphas in the search grid (search_step[1])");
    v("augment_views", augment_views_, "augmented views averaged per cache key (augment_epoch)");
    v("augment_scale_min", augment_scale_min_,
      "the views' random resized crop: smallest area fraction (the reference's 0.5)");
    v("cache_size", cache_size_, "cache entries (set when the cache is built; 0: not yet built)");
  }
};

class TipAdapterImpl : public delta::Delta,
                       public delta::FewShotCache,
                       public delta::LogitResidual {
 public:
  // `fine_tune`: Tip-Adapter-F (the keys train); the method is named after it.
  TipAdapterImpl(TipAdapterOptions options, const models::Clip& clip,
                 const std::vector<std::string>& classnames, bool fine_tune);

  nn::DeltaSites* sites(delta::Tower, const delta::SiteContext&) override { return nullptr; }
  bool touches(delta::Tower) const override { return false; }

  int64_t cache_views() const override { return options_.augment_views(); }
  double view_scale_min() const override { return options_.augment_scale_min(); }
  bool has_cache() const override { return options_.cache_size() > 0; }
  void build_cache(const at::Tensor& view_features, const at::Tensor& labels,
                   int64_t num_classes) override;

  at::Tensor residual_logits(const at::Tensor& image_features) override;
  nlohmann::json select_on_val(const at::Tensor& val_features, const at::Tensor& base_logits,
                               const at::Tensor& val_labels) override;

  // Another class list is refused, naming both sizes: the values are one-hot over these classes.
  void set_classnames(const std::vector<std::string>& classnames) override;
  std::map<std::string, std::string> hyperparameters() const override;
  const TipAdapterOptions& options() const { return options_; }

  at::Tensor keys;    // [M, D]
  at::Tensor values;  // [M, C]

 private:
  at::Tensor affinity(const at::Tensor& image_features);

  TipAdapterOptions options_;
  std::vector<std::string> classnames_;
  bool fine_tune_;
};
TORCH_MODULE(TipAdapter);

}  // namespace vlprompt::prompts
