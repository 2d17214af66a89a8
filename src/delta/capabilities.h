// What a delta can do beyond filling a backbone's sites, one interface per capability. A method
// asks for the capability it needs (`delta.find<delta::ClassPrompts>()`, nullptr when the delta
// has none) instead of calling a virtual that every delta must carry: a new family of deltas
// (LoRA, adapters, BitFit) declares its own capabilities here, or none, and Delta stays as it is.
//
// A delta provides a capability by deriving from its interface and calling provide() in its
// constructor; a DeltaStack provides what its members do (see delta_stack.h for how each
// capability combines).
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vlprompt::delta {

// What a delta's loss term may read from the forward pass whose logits are being scored.
struct LossContext {
  // The learned class text features of that pass (not normalised): [C, D], or [N, C, D] when the
  // prompts are conditioned on each of N images.
  at::Tensor text_features;
  // The classes' hand-written prompts through the frozen text tower, [C, D] (not normalised);
  // computed on first call (once per class list), so terms that do not need it cost nothing.
  std::function<at::Tensor()> manual_text_features;
};

// What a delta's term over the unlabelled stream (engine::Batch::unlabelled: domain adaptation's
// target inputs, which carry no labels) may read. Inputs and classes meet in one embedding space
// (a dual encoder: CLIP's images and prompts).
struct UnlabelledContext {
  // Frozen features of the unlabelled inputs, [N, embed_dim] (no graph, not normalised).
  at::Tensor input_features;
  // The learned class prompts' features of this step, one row per row of class_prompt_ids().
  at::Tensor class_features;
  // The backbone's scaled similarity logits of input features [N, E] against class features
  // [P, E].
  std::function<at::Tensor(const at::Tensor& inputs, const at::Tensor& classes)> logits;
  // Token ids [P, L] through the frozen class encoder with no delta (no graph): hand-written
  // prompts.
  std::function<at::Tensor(const at::Tensor& ids)> frozen_class_features;
};

// The delta lays out the class prompts' token ids itself (CoOp writes its context into
// placeholder positions); without it, the method tokenizes a hand-written template per class.
class ClassPrompts {
 public:
  virtual ~ClassPrompts() = default;
  // [C, context_length] int64 (domains x C rows for a DomainAdaptive delta).
  virtual at::Tensor class_prompt_ids() const = 0;
};

// The delta computes something of its own from the pixels and blends it into the frozen image
// feature (Side-tuning's side network): the method then needs images in the loop.
class ImageFeatureBlend {
 public:
  virtual ~ImageFeatureBlend() = default;
  // Image features [N, embed_dim] from pixels [N, 3, R, R] and the tower's features of them.
  virtual at::Tensor blend(const at::Tensor& pixels, const at::Tensor& tower_features) = 0;
};

// The delta maps the image feature to another (CLIP-Adapter's residual MLP), from the feature
// alone: no pixels, so it trains on cached features or augmented views like a text-side delta.
class ImageFeatureMap {
 public:
  virtual ~ImageFeatureMap() = default;
  // Image features [N, embed_dim] -> [N, embed_dim].
  virtual at::Tensor map_features(const at::Tensor& features) = 0;
};

// A cache model built from the few-shot training images before training (Tip-Adapter's keys and
// values): the run encodes cache_views() augmented views of every training image with the frozen
// image tower (random resized crop with area scale [view_scale_min(), 1] and a flip) and hands
// them over once.
class FewShotCache {
 public:
  virtual ~FewShotCache() = default;
  virtual int64_t cache_views() const = 0;
  virtual double view_scale_min() const = 0;
  // False until build_cache (or loading a delta file that holds a cache).
  virtual bool has_cache() const = 0;
  // view_features [V, N, embed_dim] (frozen, not normalised), labels [N] int64 in [0, classes).
  virtual void build_cache(const at::Tensor& view_features, const at::Tensor& labels,
                           int64_t num_classes) = 0;
};

// Logits of the delta's own added to the image-text similarity logits (Tip-Adapter's cache term),
// with hyper-parameters chosen on the labelled val split once training is done.
class LogitResidual {
 public:
  virtual ~LogitResidual() = default;
  // [N, C] from image features [N, embed_dim] (not normalised).
  virtual at::Tensor residual_logits(const at::Tensor& image_features) = 0;
  // Chooses the residual's hyper-parameters by val top-1 given the val image features, the
  // method's logits without the residual [N, C] and the val labels, keeps them, and returns what
  // results.json records of the search. Only ever called with val data: the caller owns that.
  virtual nlohmann::json select_on_val(const at::Tensor& val_features,
                                       const at::Tensor& base_logits,
                                       const at::Tensor& val_labels) = 0;
};

// The image sites read SiteContext::image_features: the frozen image tower's features of the
// same images from a prompt-free pass, which the method computes first (L2P's query, matched
// against its prompt keys). Such sites depend on the image, so no other member may touch the
// image tower beside them.
class ImageQuery {
 public:
  virtual ~ImageQuery() = default;
};

// The text sites read SiteContext::image_features (CoCoOp's meta-net): the text is encoded per
// image instead of once per class list.
class ImageConditioned {
 public:
  virtual ~ImageConditioned() = default;
};

// The delta classifies with a head of its own (VPT's linear head) instead of the image-text
// similarity; the text tower is then not used.
class ClassHead {
 public:
  virtual ~ClassHead() = default;
  // Logits [N, C] from image features [N, embed_dim].
  virtual at::Tensor head_logits(const at::Tensor& image_features) = 0;
};

// A term added to the method's cross-entropy (a regulariser such as KgCoOp's).
class LossTerm {
 public:
  virtual ~LossTerm() = default;
  // Undefined when the term is switched off (a zero weight).
  virtual at::Tensor loss_term(const LossContext& context) = 0;
};

// Domain adaptation: one prompt per (domain, class), domain-major (row d * C + c of
// class_prompt_ids() is class c as seen in domain d), and a term over the unlabelled target.
class DomainAdaptive {
 public:
  virtual ~DomainAdaptive() = default;
  virtual std::vector<std::string> domains() const = 0;
  // The domain whose prompts classify when the caller names none (the target it adapted to).
  virtual std::string default_domain() const = 0;
  // A term over a batch's unlabelled stream (pseudo-labels, ...), added to the loss; undefined
  // when nothing is kept. Only training batches with an unlabelled stream ask for it.
  virtual at::Tensor unlabelled_loss(const UnlabelledContext& context) = 0;
  // The pseudo-labels that term trains on, [N] int64 with -1 where none is kept. For reports
  // (their accuracy against labels kept apart from training).
  virtual at::Tensor pseudo_labels(const UnlabelledContext& context) = 0;
};

}  // namespace vlprompt::delta
