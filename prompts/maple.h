// MaPLe, Multi-modal Prompt Learning (Khattak et al., CVPR 2023): deep prompts in both towers
// where the image tower's prompts are linear projections of the text tower's ("coupling
// functions"), so the two branches learn together. With J = depth:
//   text:  ctx [n, W_txt] at the input (positions 1..n), compound_prompts_text.i [n, W_txt]
//          before layer i + 1, for i < J - 1;
//   image: proj(ctx) [n, W_img] appended at the input, compound_prompt_projections.i(
//          compound_prompts_text.i) before layer i + 1.
// Tensor names, the context start ("a photo of a", n_ctx 2 learns "a photo") and the .half()
// rounding of the visual and deeper text prompts follow the official code (prompts/
// deep_vl_prompts.h).
#pragma once

#include <ATen/ATen.h>
#include <torch/arg.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/parameterlist.h>
#include <torch/nn/modules/linear.h>
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

struct MapleOptions {
  /// Maple maple(MapleOptions().n_ctx(2).depth(9), clip, tokenizer, classnames);
  TORCH_ARG(int64_t, n_ctx) = 2;
  // Used when n_ctx <= 4 (as the official code does): the first n_ctx of its tokens start the
  // context and the rest stay in the prompt.
  TORCH_ARG(std::string, ctx_init) = "a photo of a";
  // Layers with prompts, input included (1 = shallow MaPLe); capped at the towers' layers.
  TORCH_ARG(int64_t, depth) = 9;
  TORCH_ARG(double, init_std) = 0.02;
  // Round visual and deeper text prompts through fp16 as the official forward does.
  TORCH_ARG(bool, half_round) = true;
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("n_ctx", n_ctx_, "learned context tokens per layer (both towers)");
    v("ctx_init", ctx_init_, "words the text context starts from when n_ctx <= 4 ('' = random)");
    v("depth", depth_, "layers with prompts, input included (capped at the towers' layers)");
    v("init_std", init_std_, "std of the random prompts' initialisation");
    v("half_round", half_round_, "round prompts through fp16 as the official forward does");
    v("seed", seed_, "seed of the initialisation (default: the run seed)");
  }
};

class MapleImpl : public DeepVlPromptDelta {
 public:
  MapleImpl(MapleOptions options, models::Clip clip,
            std::shared_ptr<const text::ClipTokenizer> tokenizer,
            const std::vector<std::string>& classnames);

  nn::DeltaSites* sites(delta::Tower tower, const delta::SiteContext& context) override;
  std::map<std::string, std::string> hyperparameters() const override;
  const MapleOptions& options() const { return options_; }

  at::Tensor ctx;  // [n_ctx, W_txt]
  torch::nn::Linear proj{nullptr};
  torch::nn::ParameterList compound_prompts_text{nullptr};
  torch::nn::ModuleList compound_prompt_projections{nullptr};

 private:
  MapleOptions options_;
};
TORCH_MODULE(Maple);

}  // namespace vlprompt::prompts
