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
#include <typeindex>
#include <vector>

#include "src/core/safetensors.h"
#include "src/delta/capabilities.h"
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

class Delta : public torch::nn::Module {
 public:
  explicit Delta(std::string method) : method_(std::move(method)) {}
  const std::string& method() const { return method_; }

  // Sites for one tower's forward pass over the rows `context` describes, or nullptr when this
  // delta does not touch that tower. The returned object is valid until the next call on this
  // delta, and reads `context`, which must outlive the pass.
  virtual nn::DeltaSites* sites(Tower tower, const SiteContext& context) = 0;

  // The capability C (capabilities.h: ClassPrompts, ClassHead, LossTerm, DomainAdaptive, ...)
  // of this delta, or nullptr when it has none. What a method does beyond the shared
  // image-text path follows from the capabilities its delta has, not from per-method virtuals.
  template <class C>
  C* find() const {
    const auto it = capabilities_.find(std::type_index(typeid(C)));
    return it == capabilities_.end() ? nullptr : static_cast<C*>(it->second);
  }

  // Whether sites(tower) can be non-null. What a method must feed follows from it: a delta that
  // touches the image tower needs images in the loop, never cached image features.
  virtual bool touches(Tower tower) const = 0;

  // Numbers to log with the epoch (metrics.jsonl), accumulated since the previous call, which
  // starts a new count. Empty for none.
  virtual std::map<std::string, double> epoch_metrics() { return {}; }

  // Points the delta at another class list (cross-dataset evaluation). Deltas whose tensors are
  // tied to their classes refuse with an Error naming both lists; the default has nothing to do.
  virtual void set_classnames(const std::vector<std::string>& classnames) {}

  // Hyper-parameters that define the delta's shape (n_ctx, csc, position, ...), as strings;
  // stored in the delta file's metadata and needed to rebuild it. A method writes its Options
  // struct through core::to_strings, so every key its visit() names reaches the file.
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

 protected:
  // Declares capability C, served by `implementation` (this delta, or a DeltaStack's member).
  template <class C>
  void provide(C* implementation) {
    capabilities_[std::type_index(typeid(C))] = implementation;
  }

 private:
  std::string method_;
  std::map<std::type_index, void*> capabilities_;
};

}  // namespace vlprompt::delta
