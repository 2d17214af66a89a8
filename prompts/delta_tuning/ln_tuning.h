// LN tuning (PEFT's LN_TUNING; Zhao et al., "Tuning LayerNorm in Attention", ICLR 2024): every
// norm's weight and bias train, as zero-initialised offsets on the frozen ones (RMSNorm: the
// weight only, it has no bias), so step 0 is the frozen model and `merge` adds them back.
#pragma once

#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include "prompts/delta_tuning/module_delta.h"

namespace vlprompt::prompts::delta_tuning {

using LnTuningOptions = TowersOptions;

class LnTuningImpl : public ModuleDeltaImpl {
 public:
  LnTuningImpl(LnTuningOptions options, std::vector<TowerLayout> layouts);
  std::optional<nn::NormDelta> norm_at(size_t t, int64_t layer, nn::NormSite site) override;
  std::map<std::string, std::string> hyperparameters() const override;

 private:
  LnTuningOptions options_;
  std::map<std::tuple<size_t, std::string>, nn::NormDelta> norms_;
};
TORCH_MODULE(LnTuning);

}  // namespace vlprompt::prompts::delta_tuning
