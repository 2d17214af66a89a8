// BitFit (Ben Zaken et al., ACL 2022), the specification family's bias-only tuning: every linear
// projection of every block and every norm gains a bias offset, zero-initialised, so step 0 is
// the frozen model (LLaMA's projections and RMSNorms have no bias: an offset starting at zero is
// theirs, never a random init). The offsets are what the delta file holds; `merge` adds them to
// the frozen biases.
#pragma once

#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include "prompts/delta_tuning/module_delta.h"

namespace vlprompt::prompts::delta_tuning {

struct BitFitOptions {
  TORCH_ARG(bool, linears) = true;
  TORCH_ARG(bool, norms) = true;
  TORCH_ARG(std::string, towers) = "text,image";
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("linears", linears_, "tune a bias on every linear projection of every block");
    v("norms", norms_, "tune a bias on every norm (the tower's first and last included)");
    v("towers", towers_, "CLIP towers to tune: text, image or text,image (LLaMA: ignored)");
    v("seed", seed_, "unused (the offsets start at 0); kept for the common run keys");
  }
};

class BitFitImpl : public ModuleDeltaImpl {
 public:
  BitFitImpl(BitFitOptions options, std::vector<TowerLayout> layouts);

  std::optional<nn::LinearDelta> linear_at(size_t t, int64_t layer, nn::LinearSite site) override;
  std::optional<nn::NormDelta> norm_at(size_t t, int64_t layer, nn::NormSite site) override;
  std::map<std::string, std::string> hyperparameters() const override;

 private:
  BitFitOptions options_;
  std::map<std::tuple<size_t, int64_t, nn::LinearSite>, at::Tensor> linear_bias_;
  std::map<std::tuple<size_t, std::string>, at::Tensor> norm_bias_;
};
TORCH_MODULE(BitFit);

// The last part of a norm's name ("layers.3.ln_1" -> "ln_1"): its slot below the block.
std::string short_norm_name(const NormSlot& norm);

}  // namespace vlprompt::prompts::delta_tuning
