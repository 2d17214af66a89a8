// What MaPLe and IVLP (Khattak et al., "MaPLe: Multi-modal Prompt Learning", CVPR 2023; the
// repository muzairkhattak/multimodal-prompt-learning) share: deep prompts in both CLIP towers,
// placed as that code places them.
//   text:  [SOS][n learned tokens][rest of "<ctx_init> <class>." ...]; before layer l (1 <= l <
//          depth) the tokens at positions 1..n give way to layer l's own.
//   image: n learned tokens appended after the patch tokens (once the positional embedding is
//          added, before ln_pre); before layer l the last n tokens give way to layer l's own.
// The official forward casts every visual prompt and every deeper text prompt with `.half()`
// before it enters the fp32 tower; `half_round` reproduces that rounding (gradients pass
// through the casts, as there), so an imported delta gives the official logits.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "src/delta/delta.h"
#include "src/nn/delta_sites.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::prompts {

// Rounds through IEEE half precision and back to `t`'s type; the gradient passes through.
at::Tensor round_through_half(const at::Tensor& t);

// Where the placement of a tower's prompts puts them.
enum class DeepPromptPlacement {
  kAfterStartOfText,  // text: positions 1..n
  kAppended,          // image: after the last token
};

// Sites over per-layer prompts: layers[0] enters with the input, layers[l] replaces the previous
// layer's outputs before layer l (layers past the list keep them). Each prompt is [n, width].
class DeepPromptSites : public nn::DeltaSites {
 public:
  DeepPromptSites(DeepPromptPlacement placement, bool round_input, bool round_deep)
      : placement_(placement), round_input_(round_input), round_deep_(round_deep) {}
  // The prompts of the pass about to run (valid until the next bind).
  void bind(std::vector<at::Tensor> layers) { layers_ = std::move(layers); }

  at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor& token_ids) override;
  at::Tensor layer_tokens(int64_t layer, const at::Tensor& x) override;

 private:
  at::Tensor place(const at::Tensor& x, const at::Tensor& prompt, bool round, bool insert) const;

  DeepPromptPlacement placement_;
  bool round_input_, round_deep_;
  std::vector<at::Tensor> layers_;
};

// What a MaPLe-family delta is besides its tensors: the frozen model and tokenizer, the class
// prompts "<prefix_text> <class>." (ids [C, context_length]; any class list), and one
// DeepPromptSites per tower, fed the layers' prompts of each pass.
class DeepVlPromptDelta : public delta::Delta, public delta::ClassPrompts {
 public:
  bool touches(delta::Tower) const override { return true; }
  at::Tensor class_prompt_ids() const override { return token_ids_; }
  void set_classnames(const std::vector<std::string>& classnames) override;

 protected:
  // Errors name `method` for a missing model or tokenizer.
  DeepVlPromptDelta(const std::string& method, models::Clip clip,
                    std::shared_ptr<const text::ClipTokenizer> tokenizer, bool half_round);
  // Once the context's words are known: lays out `classnames` (an empty list is an Error).
  void lay_out(std::string prefix_text, const std::vector<std::string>& classnames);
  // The tower's sites, bound to `layers` (index 0 = input) for the pass about to run.
  nn::DeltaSites* bind(delta::Tower tower, std::vector<at::Tensor> layers);

  models::Clip clip_;
  std::shared_ptr<const text::ClipTokenizer> tokenizer_;

 private:
  std::string prefix_text_;
  at::Tensor token_ids_;  // [C, context_length]
  DeepPromptSites text_sites_, image_sites_;
};

// The text context as the MaPLe repository starts it: from `ctx_init` (when set and n_ctx <= 4)
// the first n_ctx token embeddings of those words, the words themselves staying in the prompt
// ("a photo of a {class}." with n_ctx 2 learns "a photo"); otherwise n_ctx "X" placeholders with
// vectors ~ N(0, init_std) from `generator`. Errors name `method`.
struct DeepTextContext {
  std::string prefix_text;  // the prompt's words before the class name
  at::Tensor vectors;       // [n_ctx, text width] float32, on the model's device
};
DeepTextContext deep_text_context(const std::string& method, const std::string& ctx_init,
                                  int64_t n_ctx, double init_std, at::Generator& generator,
                                  models::Clip& clip, const text::ClipTokenizer& tokenizer);

// Token ids [C, context_length] of "<prefix_text> <name>." per class ('_' reads as a space); a
// prompt that does not fit is an Error naming it.
at::Tensor front_context_prompt_ids(const text::ClipTokenizer& tokenizer,
                                    const std::string& prefix_text,
                                    const std::vector<std::string>& classnames,
                                    int64_t context_length);

// A layer count as the official code treats it: `depth` layers carry prompts (1 = the input
// only), capped at the tower's layers. Values below 1 are an Error naming `key`.
int64_t prompt_depth(const std::string& method, const std::string& key, int64_t depth,
                     int64_t layers);

}  // namespace vlprompt::prompts
