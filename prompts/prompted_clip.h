// The one Method for prompted CLIP: a frozen Clip and a DeltaStack whose members fill the sites of
// either tower. CoOp is a one-member stack; "coop+vpt" is two members, not new code. Logits are
// computed the same way for every stack:
//   image  frozen features (cached or encoded without a graph) when no member touches the image
//          tower; otherwise the image tower runs on the batch's images through the stack's image
//          sites, with a graph when those sites train (data_needs() asks for images);
//   text   the class prompts (laid out by a member, e.g. CoOp, or the hand-written template)
//          through the text sites once per class list, or once per image when a member
//          conditions its prompts on the image (the site context carries the image features);
//   logits CLIP's scaled cosine similarity, plus a member's residual logits (Tip-Adapter's cache).
// A member may also map the image feature before all of this (CLIP-Adapter), from the feature
// alone, so cached features still serve it.
#pragma once

#include <torch/arg.h>

#include <memory>
#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "src/delta/delta_stack.h"
#include "src/engine/method.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::prompts {

struct PromptedClipOptions {
  // The prompt per class when no member lays out the class prompts ("{}" is the class name).
  TORCH_ARG(std::string, text_template) = "a photo of a {}.";
  // Memory budget of prompts conditioned on the image: at most this many (image, class) rows per
  // text-tower pass (at least one image's C rows). A training batch above it is back-propagated
  // chunk by chunk.
  TORCH_ARG(int64_t, text_rows_per_pass) = 2048;
};

class PromptedClipMethod : public engine::Method {
 public:
  PromptedClipMethod(models::Clip clip, std::shared_ptr<const text::ClipTokenizer> tokenizer,
                     delta::DeltaStack stack, std::vector<std::string> classnames,
                     PromptedClipOptions options = {});

  // The members' methods joined by '+' ("coop", "coop+vpt").
  std::string name() const override;
  engine::DataNeeds data_needs() const override;
  at::Tensor forward(const engine::Batch& batch) override;
  // Cross-entropy plus the members' loss terms (KgCoOp's pull towards the hand-written prompts),
  // read from the text features of the forward pass that made `logits`.
  at::Tensor loss(const at::Tensor& logits, const engine::Batch& batch) override;
  // Conditional prompts over the row budget: one forward + backward per chunk of images, the
  // chunk losses weighted by their share of the batch (the same gradient as one pass).
  engine::StepOutput train_step(const engine::Batch& batch, const std::string& where) override;
  std::vector<at::Tensor> trainable_parameters() override;
  // "<member>.<param>": a lone CoOp's context is "coop.ctx".
  core::TensorMap state() const override;
  void load_state(const core::TensorMap& state) override;
  void set_training(bool training) override;
  // A lone member's own hyper-parameters (the file of a one-delta run reads like that delta's);
  // a stack's "members", "sequential" and "<member>.<key>" otherwise.
  std::map<std::string, std::string> hyperparameters() const override;
  std::string backbone_fingerprint() const override;
  void set_classnames(const std::vector<std::string>& classnames) override;
  void to(const at::Device& device) override;

  // Domain-aware stacks (a member with Delta::domains(), e.g. DAPL): the text tower encodes every
  // (domain, class) prompt; a batch's rows are scored against the prompts of their Batch::domains,
  // or of the chosen domain (the stack's default_domain() until set_domain) when it has none.
  std::vector<std::string> domains() const override {
    const auto* adaptive = stack_->find<delta::DomainAdaptive>();
    return adaptive ? adaptive->domains() : std::vector<std::string>{};
  }
  void set_domain(const std::string& domain) override;
  std::string domain() const override { return domain_; }
  // The members' epoch numbers; with an unlabelled reference also "pseudo_kept" (share of its
  // images given a pseudo-label) and "pseudo_accuracy" (percent of those that are right).
  std::map<std::string, double> epoch_metrics(const engine::HookContext& context) override;
  void set_unlabelled_reference(std::shared_ptr<engine::EvalData> reference) override {
    unlabelled_reference_ = std::move(reference);
  }

  // Text features [C, embed_dim] of the current classes through the text sites (not
  // normalised). Only for stacks whose prompts do not depend on the image.
  at::Tensor class_text_features();

  // forward() in two halves, for an image pass shared by several methods' rows (multi-delta
  // serving): the sites this method's image pass uses, or null when it leaves the image tower
  // alone or blends features from the pixels (then its pass is its own); and the logits from
  // image features made with them. forward(b) == logits_from_image_features(features, b).
  nn::DeltaSites* image_pass_sites();
  at::Tensor logits_from_image_features(const at::Tensor& image, const engine::Batch& batch);

  // A member's LogitResidual chooses its hyper-parameters on these frozen val features and labels
  // (never test's: the caller passes the val split), from the logits without the residual; the
  // search's record for results.json. An Error when no member has one. Leaves eval mode on.
  nlohmann::json select_on_val(const at::Tensor& val_features, const at::Tensor& val_labels);

  delta::DeltaStack& stack() { return stack_; }
  models::Clip& clip() { return clip_; }
  const std::vector<std::string>& classnames() const { return classnames_; }

 private:
  at::Tensor image_features(const engine::Batch& batch);
  at::Tensor conditional_logits(const at::Tensor& image);
  // The image-text (or head) logits, without a member's residual.
  at::Tensor similarity_logits(const at::Tensor& image, const engine::Batch& batch);
  int64_t images_per_pass() const;
  at::Tensor prompt_ids() const;
  void tokenize_template();

  models::Clip clip_;
  std::shared_ptr<const text::ClipTokenizer> tokenizer_;
  delta::DeltaStack stack_;
  std::vector<std::string> classnames_;
  PromptedClipOptions options_;
  at::Tensor manual_text_features();
  delta::UnlabelledContext unlabelled_context(const at::Tensor& image);
  at::Tensor frozen_image_features(const engine::Batch& batch);

  at::Tensor template_ids_;  // [C, L]: the hand-written prompts
  at::Tensor cached_text_;   // class_text_features() while evaluating (no grad, fixed delta)
  at::Tensor last_text_;     // the text features of the last forward, for loss terms
  at::Tensor manual_text_;   // manual_text_features(), once per class list and device
  bool training_ = false;
  std::string domain_;      // the domain whose prompts classify ("" without domains)
  int64_t domain_row_ = 0;  // its index in domains()
  std::shared_ptr<engine::EvalData> unlabelled_reference_;
};

}  // namespace vlprompt::prompts
