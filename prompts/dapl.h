// DAPL, Domain Adaptation via Prompt Learning (Ge et al., IEEE TNNLS 2023; LeapLabTHU/DAPrompt,
// trainers/dapl.py). Unsupervised domain adaptation with a frozen CLIP: every (domain, class) has
// its own prompt
//   [SOS][ctx 0..n_ctx-1][dmx_d 0..n_dmx-1][class tokens][, a {domain} image.][.][EOS]
// (the reference's text "X ... X {class} , a {domain} image..": its ", a {} image." suffix is
// followed by one more "."), where ctx is shared by all domains (one set, or one per class with
// csc) and dmx_d is domain d's own n_dmx vectors, shared by its classes. Rows are domain-major
// (row d * C + c), the source domains first and the target last.
//
// Loss (the method's cross-entropy does the first part):
//   CE(labelled source images, source-domain prompts)
//   + u * mean over kept target images of CE(target images, target-domain prompts, pseudo-label)
// with pseudo-labels from the frozen zero-shot CLIP, "a photo of a {class}." through the text
// tower without the delta: p = softmax(zero-shot logits / t), kept where max p >= tau. The
// reference divides by the kept count and gives NaN when nothing is kept; here the term is 0.
#pragma once

#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "src/core/config.h"
#include "src/delta/delta.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::prompts {

struct DaplOptions {
  /// Dapl dapl(DaplOptions().domains("opencv,sklearn"), clip, tokenizer, classnames);
  TORCH_ARG(int64_t, n_ctx) = 16;  // domain-agnostic context vectors
  TORCH_ARG(int64_t, n_dmx) = 16;  // domain-specific vectors per domain
  TORCH_ARG(bool, csc) = false;    // one domain-agnostic context per class
  TORCH_ARG(double, t) = 1.0;      // softmax temperature of the pseudo-labels
  TORCH_ARG(double, tau) = 0.5;    // keep a pseudo-label when its probability is >= tau
  TORCH_ARG(double, u) = 1.0;      // weight of the target term
  TORCH_ARG(double, init_std) = 0.02;
  TORCH_ARG(uint64_t, seed) = 0;
  // The domains, comma-separated: the source domain(s) then the target (the last). Filled from
  // the run's datasets (--dataset, --target) when the config leaves it empty.
  TORCH_ARG(std::string, domains) = "";
  // The zero-shot prompt that makes the pseudo-labels.
  TORCH_ARG(std::string, pseudo_template) = "a photo of a {}.";

 public:
  template <class V>
  void visit(V& v) {
    v("n_ctx", n_ctx_, "domain-agnostic context vectors");
    v("n_dmx", n_dmx_, "domain-specific context vectors per domain");
    v("csc", csc_, "class-specific domain-agnostic context");
    v("t", t_, "temperature of the pseudo-label softmax");
    v("tau", tau_, "pseudo-label confidence threshold");
    v("u", u_, "weight of the target (pseudo-label) loss");
    v("init_std", init_std_, "std of the random initialisation");
    v("seed", seed_, "seed of the random initialisation (default: the run seed)");
    v("domains", domains_, "source domain(s) then target, comma-separated ('' = from the run)");
    v("pseudo_template", pseudo_template_, "zero-shot prompt of the pseudo-labels");
  }
};

// The reference's prompt text of one (domain, class) row, with `n` = n_ctx + n_dmx placeholders:
// "X X ... X <class, '_' as ' '> , a <domain> image..".
std::string dapl_prompt_text(int64_t n, const std::string& classname, const std::string& domain);

// Pseudo-labels of `zero_shot_logits` [N, C]: softmax(logits / t) -> labels [N] (argmax) and
// keep [N] bool (max probability >= tau).
struct PseudoLabels {
  at::Tensor labels, keep;
};
PseudoLabels dapl_pseudo_labels(const at::Tensor& zero_shot_logits, double t, double tau);

class DaplTextSites;

class DaplImpl : public delta::Delta, public delta::ClassPrompts, public delta::DomainAdaptive {
 public:
  DaplImpl(DaplOptions options, models::Clip clip,
           std::shared_ptr<const text::ClipTokenizer> tokenizer,
           const std::vector<std::string>& classnames);
  ~DaplImpl() override;

  nn::DeltaSites* sites(delta::Tower tower, const delta::SiteContext& context) override;
  bool touches(delta::Tower tower) const override { return tower == delta::Tower::kText; }
  // [D * C, context_length], domain-major.
  at::Tensor class_prompt_ids() const override { return token_ids_; }
  std::vector<std::string> domains() const override { return domains_; }
  std::string default_domain() const override { return domains_.back(); }
  at::Tensor unlabelled_loss(const delta::UnlabelledContext& context) override;
  // "pseudo_share": the share of this epoch's target training views whose pseudo-label was kept.
  std::map<std::string, double> epoch_metrics() override;
  // A unified context transfers to other classes; a class-specific one refuses.
  void set_classnames(const std::vector<std::string>& classnames) override;
  std::map<std::string, std::string> hyperparameters() const override;

  // The frozen zero-shot pseudo-labels of target image features [N, E] (no graph).
  PseudoLabels zero_shot_pseudo_labels(const delta::UnlabelledContext& context);
  // Those labels with -1 where not kept.
  at::Tensor pseudo_labels(const delta::UnlabelledContext& context) override;
  const DaplOptions& options() const { return options_; }

  at::Tensor ctx;  // [n_ctx, W], or [C, n_ctx, W] with csc
  at::Tensor dmx;  // [D, n_dmx, W]

 private:
  friend class DaplTextSites;

  DaplOptions options_;
  models::Clip clip_;
  std::shared_ptr<const text::ClipTokenizer> tokenizer_;
  std::vector<std::string> classnames_, domains_;
  at::Tensor token_ids_;    // [D * C, L]
  at::Tensor pseudo_ids_;   // [C, L]: the zero-shot prompts
  at::Tensor pseudo_text_;  // their frozen features, once per class list and device
  double kept_ = 0, seen_ = 0;
  std::unique_ptr<DaplTextSites> text_sites_;
};
TORCH_MODULE(Dapl);

}  // namespace vlprompt::prompts
