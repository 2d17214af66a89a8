// A Delta owns small trainable tensors and fills a frozen backbone's sites (nn::DeltaSites); it
// never changes backbone code. Deltas are torch modules, so their tensors are registered
// parameters/buffers; the delta file holds exactly their parameters (never a backbone tensor, so a
// delta must not register the backbone it reads from as a submodule).
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/core/safetensors.h"
#include "src/nn/delta_sites.h"

namespace vlprompt::delta {

// Which tower a set of sites is for. A delta may serve one or both.
enum class Tower { kText, kImage };
std::string tower_name(Tower tower);  // "text" | "image"

// What one forward pass tells the sites about the rows they are filling. Everything is optional:
// an empty context means "the plain batch" (text: row i is class i; no image to condition on).
struct SiteContext {
  // Text tower: the class whose prompt each row of the token batch is, [B] int64 on the batch's
  // device. Undefined: row i is class i. A batch may hold any classes, repeated or not.
  at::Tensor prompt_rows;
  // Features [N, embed_dim] of the images being classified, for prompts conditioned on the image
  // (CoCoOp's meta-net); undefined when no image is at hand.
  at::Tensor image_features;
  // Text tower: the image (row of image_features) each prompt row is conditioned on, [B] int64.
  at::Tensor image_rows;
};

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
// target images, which carry no labels) may read.
struct UnlabelledContext {
  // Frozen image features of the unlabelled images, [N, embed_dim] (no graph, not normalised).
  at::Tensor image_features;
  // The learned prompts' text features of this step, one row per row of class_prompt_ids().
  at::Tensor text_features;
  // The backbone's scaled cosine logits of image features [N, E] against text features [P, E].
  std::function<at::Tensor(const at::Tensor& image, const at::Tensor& text)> logits;
  // Token ids [P, L] through the frozen text tower with no delta (no graph): hand-written prompts.
  std::function<at::Tensor(const at::Tensor& ids)> frozen_text;
};

class Delta : public torch::nn::Module {
 public:
  explicit Delta(std::string method) : method_(std::move(method)) {}
  const std::string& method() const { return method_; }

  // Sites for one tower's forward pass over the rows `context` describes, or nullptr when this
  // delta does not touch that tower. The returned object is valid until the next call on this
  // delta, and reads `context`, which must outlive the pass.
  virtual nn::DeltaSites* sites(Tower tower, const SiteContext& context) = 0;

  // Whether sites(tower) can be non-null. What a method must feed follows from it: a delta that
  // touches the image tower needs images in the loop, never cached image features.
  virtual bool touches(Tower tower) const = 0;

  // True when the text sites read context.image_features (conditional prompts): the text is then
  // encoded per image instead of once per class list.
  virtual bool conditions_on_image() const { return false; }

  // The class prompts' token ids [C, context_length] when this delta lays them out itself (CoOp
  // writes its context into placeholder positions), else undefined: the method then tokenizes a
  // hand-written template per class.
  virtual at::Tensor class_prompt_ids() const { return {}; }

  // True when the delta classifies with a head of its own (VPT's linear head) instead of the
  // image-text similarity; the text tower is then not used.
  virtual bool has_head() const { return false; }
  // Logits [N, C] from image features [N, embed_dim]; called only when has_head().
  virtual at::Tensor head_logits(const at::Tensor& image_features);

  // A term added to the method's cross-entropy (a regulariser), or undefined for none.
  virtual at::Tensor loss_term(const LossContext& context) { return {}; }

  // Domain-aware deltas (domain adaptation) lay out one prompt per (domain, class), domain-major:
  // class_prompt_ids() then has domains().size() * C rows, row d * C + c being class c as seen in
  // domain d. Empty for every other delta (one prompt per class).
  virtual std::vector<std::string> domains() const { return {}; }
  // The domain whose prompts classify when the caller names none (DAPL: the target it adapted to).
  virtual std::string default_domain() const { return ""; }

  // A term over a batch's unlabelled stream (pseudo-labels, ...), added to the loss; undefined for
  // none. Only training batches with an unlabelled stream ask for it.
  virtual at::Tensor unlabelled_loss(const UnlabelledContext& context) { return {}; }
  // The pseudo-labels that term trains on, [N] int64 with -1 where none is kept, or undefined for
  // a delta without them. For reports (their accuracy against labels kept apart from training).
  virtual at::Tensor pseudo_labels(const UnlabelledContext& context) { return {}; }

  // Numbers to log with the epoch (metrics.jsonl), accumulated since the previous call, which
  // starts a new count. Empty for none.
  virtual std::map<std::string, double> epoch_metrics() { return {}; }

  // Points the delta at another class list (cross-dataset evaluation). Deltas whose tensors are
  // tied to their classes refuse with an Error naming both lists; the default has nothing to do.
  virtual void set_classnames(const std::vector<std::string>& classnames) {}

  // Hyper-parameters that define the delta's shape (n_ctx, csc, position, ...), as strings;
  // stored in the delta file's metadata and needed to rebuild it.
  virtual std::map<std::string, std::string> hyperparameters() const = 0;

  // The delta's parameters as the delta file names them, "<member>.<param>". A lone delta is its
  // own member, named after its method ("coop.ctx"); a DeltaStack names its members. The tensors
  // are the parameters themselves (not copies).
  virtual core::TensorMap named_tensors() const;

  // Copies `tensors` (named as named_tensors() names them) into this delta's parameters. A
  // missing, unexpected or mis-shaped tensor is a FileError naming `source` and the tensor.
  // Reparameterised deltas also accept their export_tensors() here (see below).
  virtual void load_named_tensors(const core::TensorMap& tensors, const std::string& source);

  // What the delta file holds, named like named_tensors(). For most deltas these are the same
  // tensors. A reparameterised delta (Prefix Tuning through its MLP, P-Tuning's prompt encoder)
  // trains parameters that only produce the tensors its sites read: named_tensors() are those
  // parameters (checkpoints and resume hold them, so a resumed run continues exactly), while
  // export_tensors() are the collapsed plain tensors the sites read (detached copies), so a delta
  // file is the same whether it was trained with or without the reparameterisation. Loading an
  // exported set into such a delta collapses it: it drops its encoder and holds the plain tensors
  // as its parameters from then on.
  virtual core::TensorMap export_tensors() const { return named_tensors(); }

 private:
  std::string method_;
};

}  // namespace vlprompt::delta
