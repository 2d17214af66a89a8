// IVLP, independent vision-language prompting (the baseline of Khattak et al., CVPR 2023, in
// muzairkhattak/multimodal-prompt-learning, trainers/independentVL.py): MaPLe's placement
// (prompts/deep_vl_prompts.h) with no coupling: each tower learns its own tokens per layer.
//   text:  ctx [n_text, W_txt] at the input, text_deep.i before layer i + 1 (i < depth_text - 1)
//   image: visual_ctx [n_vision, W_img] appended at the input, visual_deep.i before layer i + 1.
// Official names: prompt_learner.ctx, text_encoder.transformer.resblocks.{i+1}.VPT_shallow,
// image_encoder.VPT, image_encoder.transformer.resblocks.{i+1}.VPT_shallow.
#pragma once

#include <ATen/ATen.h>
#include <torch/arg.h>
#include <torch/nn/modules/container/parameterlist.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "prompts/deep_vl_prompts.h"
#include "src/core/config.h"
#include "src/delta/delta.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::prompts {

struct IvlpOptions {
  /// Ivlp ivlp(IvlpOptions().n_ctx_text(2).depth_vision(12), clip, tokenizer, classnames);
  TORCH_ARG(int64_t, n_ctx_text) = 2;
  TORCH_ARG(int64_t, n_ctx_vision) = 2;
  // Used when n_ctx_text <= 4, as in MaPLe (prompts/maple.h).
  TORCH_ARG(std::string, ctx_init) = "a photo of a";
  TORCH_ARG(int64_t, depth_text) = 12;
  TORCH_ARG(int64_t, depth_vision) = 12;
  TORCH_ARG(double, init_std) = 0.02;
  TORCH_ARG(bool, half_round) = true;
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("n_ctx_text", n_ctx_text_, "learned tokens per text layer");
    v("n_ctx_vision", n_ctx_vision_, "learned tokens per image layer");
    v("ctx_init", ctx_init_, "words the text context starts from when n_ctx_text <= 4");
    v("depth_text", depth_text_, "text layers with prompts, input included (capped)");
    v("depth_vision", depth_vision_, "image layers with prompts, input included (capped)");
    v("init_std", init_std_, "std of the random prompts' initialisation");
    v("half_round", half_round_, "round prompts through fp16 as the official forward does");
    v("seed", seed_, "seed of the initialisation (default: the run seed)");
  }
};

class IvlpImpl : public DeepVlPromptDelta {
 public:
  IvlpImpl(IvlpOptions options, models::Clip clip,
           std::shared_ptr<const text::ClipTokenizer> tokenizer,
           const std::vector<std::string>& classnames);

  nn::DeltaSites* sites(delta::Tower tower, const delta::SiteContext& context) override;
  std::map<std::string, std::string> hyperparameters() const override;
  const IvlpOptions& options() const { return options_; }

  at::Tensor ctx;         // [n_ctx_text, W_txt]
  at::Tensor visual_ctx;  // [n_ctx_vision, W_img]
  torch::nn::ParameterList text_deep{nullptr}, visual_deep{nullptr};

 private:
  IvlpOptions options_;
};
TORCH_MODULE(Ivlp);

}  // namespace vlprompt::prompts
