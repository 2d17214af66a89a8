// CoCoOp, Conditional Context Optimization (Zhou et al., "Conditional Prompt Learning for
// Vision-Language Models", CVPR 2022): CoOp's unified context plus a meta-net that turns each
// image's (normalised) feature into a bias added to every context vector, so every image gets its
// own C class prompts:
//   meta_net = linear1 [D_img -> D_img / 16] -> ReLU -> linear2 [-> D_txt]
//   prompt(i, c) = [SOS][ctx_0 + pi_i ... ctx_{n-1} + pi_i][class c tokens][.][EOS],
//   pi_i = meta_net(f_i / |f_i|)
// The text sites fill any batch of (image, class) rows at once from the site context: the
// method runs the B x C prompts as batched passes, never a loop over images.
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
#include "src/text/clip_tokenizer.h"

namespace vlprompt::prompts {

struct CoCoOpOptions {
  /// CoCoOp cocoop(CoCoOpOptions().ctx_init("a photo of a"), clip, tokenizer, names);
  // Number of learned context vectors when ctx_init is empty.
  TORCH_ARG(int64_t, n_ctx) = 4;
  // Words the context starts from ('_' reads as a space); n_ctx becomes their token count.
  TORCH_ARG(std::string, ctx_init) = "a photo of a";
  TORCH_ARG(double, init_std) = 0.02;
  // Seeds the random context (without ctx_init) and the meta-net's initial weights.
  TORCH_ARG(uint64_t, seed) = 0;
  // KgCoOp's pull towards the hand-written prompts (prompts/kgcoop.h); 0 = off.
  TORCH_ARG(double, kg_weight) = 0.0;

 public:
  template <class V>
  void visit(V& v) {
    v("n_ctx", n_ctx_, "learned context vectors (ignored when ctx_init is set)");
    v("ctx_init", ctx_init_, "initialise the context from these words ('' = random)");
    v("init_std", init_std_, "std of the random context initialisation");
    v("kg_weight", kg_weight_, "KgCoOp regulariser weight (0 = off; the paper uses 8.0)");
    v("seed", seed_, "seed of the initialisation (default: the run seed)");
  }
};

// The official module names: meta_net.linear1, meta_net.linear2.
class MetaNetImpl : public torch::nn::Module {
 public:
  MetaNetImpl(int64_t in, int64_t hidden, int64_t out);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Linear linear1{nullptr}, linear2{nullptr};
};
TORCH_MODULE(MetaNet);

class CoCoOpTextSites;

class CoCoOpImpl : public delta::Delta,
                   public delta::ClassPrompts,
                   public delta::ImageConditioned,
                   public delta::LossTerm {
 public:
  CoCoOpImpl(CoCoOpOptions options, models::Clip clip,
             std::shared_ptr<const text::ClipTokenizer> tokenizer,
             const std::vector<std::string>& classnames);
  ~CoCoOpImpl() override;

  // The text sites need context.prompt_rows, image_rows and image_features.
  nn::DeltaSites* sites(delta::Tower tower, const delta::SiteContext& context) override;
  bool touches(delta::Tower tower) const override { return tower == delta::Tower::kText; }
  at::Tensor class_prompt_ids() const override { return token_ids_; }
  // The context is shared by all classes: any class list is fine.
  void set_classnames(const std::vector<std::string>& classnames) override;
  std::map<std::string, std::string> hyperparameters() const override;
  at::Tensor loss_term(const delta::LossContext& context) override;
  const CoCoOpOptions& options() const { return options_; }

  at::Tensor ctx;  // [n_ctx, D_txt], registered as "ctx"
  MetaNet meta_net{nullptr};

 private:
  friend class CoCoOpTextSites;
  CoCoOpOptions options_;
  models::Clip clip_;
  std::shared_ptr<const text::ClipTokenizer> tokenizer_;
  std::string prefix_text_;
  at::Tensor token_ids_;  // [C, context_length]
  at::Tensor ctx_cols_;   // [C, n_ctx]
  std::unique_ptr<CoCoOpTextSites> text_sites_;
};
TORCH_MODULE(CoCoOp);

}  // namespace vlprompt::prompts
