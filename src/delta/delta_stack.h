// Several deltas applied to one backbone at once (text context + visual prompts, say), and the
// simultaneous vs sequential combinations the Delta Tuning study compares. The stack owns its
// members as submodules, so its tensors are named "<member>.<param>", and it is itself a Delta.
//
// Capabilities (capabilities.h) are the members': ClassPrompts, ClassHead, DomainAdaptive,
// ImageFeatureBlend, ImageFeatureMap, FewShotCache and LogitResidual are served by the one member
// that has each (add() refuses a second),
// ImageConditioned by any member that has it, and LossTerm by the stack itself, summing its
// members' terms.
//
// Per tower the members' sites compose in the order they were added:
//   input tokens   chained: member 2 sees member 1's output (with the original token ids)
//   inserted count summed
//   shared prefix  the shortest (and the one member's row groups)
//   layer tokens   chained
//   kv prefix      concatenated along the prefix axis (member 1's positions first)
//   projection / norm   the members' terms combined (nn::combine: offsets add, scales multiply,
//                       low-rank updates accumulate; one member may replace a tensor)
//   sublayer output     chained
//   tower tensor        the one member that replaces it
#pragma once

#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "src/delta/delta.h"

namespace vlprompt::delta {

struct DeltaStackOptions {
  /// DeltaStack stack(DeltaStackOptions().sequential(true));
  // Sequential combination: adding a member freezes every earlier one, so each member is trained
  // in its own stage on top of the ones before. Simultaneous (false): all members train together.
  TORCH_ARG(bool, sequential) = false;
};

class StackedSites;

class DeltaStackImpl : public Delta, public LossTerm {
 public:
  explicit DeltaStackImpl(DeltaStackOptions options = {});
  ~DeltaStackImpl() override;

  // Registers `delta` as member `name` (non-empty, no '.', unique), applied after the members
  // already there. In a sequential stack every earlier member is frozen. Two members that both
  // lay out the class prompts (ClassPrompts) cannot share one text tower, nor can two members
  // adapt to domains, nor a classifier head sit beside another head or text prompts: an Error.
  void add(const std::string& name, std::shared_ptr<Delta> delta);
  template <typename DeltaImpl>
  void add(const std::string& name, const torch::nn::ModuleHolder<DeltaImpl>& holder) {
    add(name, std::static_pointer_cast<Delta>(holder.ptr()));
  }

  // A frozen member still fills its sites, but its parameters have requires_grad false and are
  // left out of trainable_parameters(). Unknown names are an Error listing the members.
  void freeze(const std::string& name);
  void unfreeze(const std::string& name);
  bool is_frozen(const std::string& name) const;

  const std::vector<std::string>& member_names() const { return names_; }
  std::shared_ptr<Delta> member(const std::string& name) const;
  const DeltaStackOptions& options() const { return options_; }

  // What the optimizer updates: the parameters of members that are not frozen.
  std::vector<at::Tensor> trainable_parameters() const;

  nn::DeltaSites* sites(Tower tower, const SiteContext& context) override;
  bool touches(Tower tower) const override;
  void set_classnames(const std::vector<std::string>& classnames) override;
  // The sum of the members' terms (undefined when none has one); provided when a member has one.
  at::Tensor loss_term(const LossContext& context) override;
  // Every member's numbers, keys as the members name them.
  std::map<std::string, double> epoch_metrics() override;

  // "members" (comma-separated, in order), "sequential", and each member's own hyper-parameters
  // as "<member>.<key>" with "<member>.method".
  std::map<std::string, std::string> hyperparameters() const override;

  // "<member>.<param>" for every member, frozen or not: a file holds the whole stack.
  core::TensorMap named_tensors() const override;
  // Each member's export_tensors(), named "<member>.<param>".
  core::TensorMap export_tensors() const override;
  // Hands each member the tensors named "<member>.*" (so reparameterised members may take their
  // exported form); a tensor naming no member is a FileError naming `source`.
  void load_named_tensors(const core::TensorMap& tensors, const std::string& source) override;

 private:
  size_t index_of(const std::string& name) const;
  void set_frozen(const std::string& name, bool frozen);

  DeltaStackOptions options_;
  std::vector<std::string> names_;
  std::vector<std::shared_ptr<Delta>> members_;
  std::set<std::string> frozen_;
  std::unique_ptr<StackedSites> text_sites_;
  std::unique_ptr<StackedSites> image_sites_;
};
TORCH_MODULE(DeltaStack);

}  // namespace vlprompt::delta
