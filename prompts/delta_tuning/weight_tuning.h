// The specification family's subset tuning and its limit: trained copies of the backbone's own
// tensors, reached through the module-level sites as replacements (nn::LinearDelta::weight,
// nn::NormDelta::weight, nn::DeltaSites::tower_tensor), so the backbone stays frozen and shared,
// and the delta file holds the trained tensors only.
//   partial   (Partial-k, the VPT paper's baseline) the last k blocks of each tower and its final
//             norm
//   finetune  (the Delta Tuning survey's FT row) every block, every norm and the tensors outside
//             the blocks (embeddings, patch projection, output projections; LLaMA's lm_head).
//             CLIP's logit_scale stays fixed.
// Step 0 is the frozen model exactly: the copies start equal to it.
#pragma once

#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include "prompts/delta_tuning/frozen_tensors.h"
#include "prompts/delta_tuning/module_delta.h"

namespace vlprompt::prompts::delta_tuning {

struct PartialOptions {
  TORCH_ARG(int64_t, k) = 1;
  TORCH_ARG(std::string, towers) = "image";
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("k", k_, "blocks to train, counted from the last (capped at the tower's depth)");
    v("towers", towers_, "CLIP towers to tune: text, image or text,image (LLaMA: ignored)");
    v("seed", seed_, "unused (the copies start as the frozen tensors); kept for the run keys");
  }
};

using FinetuneOptions = TowersOptions;

class WeightTuningImpl : public ModuleDeltaImpl {
 public:
  // Trains the blocks from `first_block` on (0: all) of every tower, the final norms, and with
  // `everything` also the input norms and the tensors outside the blocks.
  WeightTuningImpl(std::string method, std::map<std::string, std::string> hyperparameters,
                   std::vector<TowerLayout> layouts, const std::vector<FrozenTower>& frozen,
                   int64_t last_blocks, bool everything);

  std::optional<nn::LinearDelta> linear_at(size_t t, int64_t layer, nn::LinearSite site) override;
  std::optional<nn::NormDelta> norm_at(size_t t, int64_t layer, nn::NormSite site) override;
  at::Tensor tower_tensor_at(size_t t, const std::string& name) override;
  std::map<std::string, std::string> hyperparameters() const override { return hyperparameters_; }

 private:
  std::map<std::string, std::string> hyperparameters_;
  std::map<std::tuple<size_t, int64_t, nn::LinearSite>, nn::LinearDelta> linears_;
  std::map<std::tuple<size_t, int64_t, nn::NormSite>, nn::NormDelta> norms_;
  std::map<std::pair<size_t, std::string>, at::Tensor> edges_;
};
TORCH_MODULE(WeightTuning);

}  // namespace vlprompt::prompts::delta_tuning
