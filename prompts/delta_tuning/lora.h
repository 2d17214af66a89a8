// LoRA (Hu et al., ICLR 2022) as PEFT implements it (peft/tuners/lora/layer.py, LoraLayer and
// Linear.forward; the commit in prompts/lm/peft_format.h): each targeted projection gains
//   y = W x + b + scaling * lora_B(lora_A(dropout(x))),   scaling = alpha / r
// (use_rslora: alpha / sqrt(r)), lora_A [r, in] kaiming-uniform with a = sqrt(5) (bound
// 1 / sqrt(in)), lora_B [out, r] zeros, so step 0 is the frozen model; dropout acts on the
// adapter branch only. The same delta targets CLIP's towers and LLaMA's layers (site_layout.h).
#pragma once

#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include "prompts/delta_tuning/module_delta.h"

namespace vlprompt::prompts::delta_tuning {

struct LoraOptions {
  /// Lora lora(LoraOptions().r(8).alpha(16).target_modules("q_proj,v_proj"), layouts);
  TORCH_ARG(int64_t, r) = 8;
  TORCH_ARG(double, alpha) = 8;
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(bool, use_rslora) = false;
  TORCH_ARG(std::string, target_modules) = "q_proj,v_proj";
  TORCH_ARG(std::string, layers_to_transform) = "";
  TORCH_ARG(std::string, towers) = "text,image";
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("r", r_, "rank of each update");
    v("alpha", alpha_, "lora_alpha: the update is scaled by alpha / r");
    v("dropout", dropout_, "dropout on the adapter branch's input while training");
    v("use_rslora", use_rslora_, "scale by alpha / sqrt(r) (rank-stabilised LoRA)");
    v("target_modules", target_modules_,
      "projections to adapt (PEFT's names; CLIP: q_proj k_proj v_proj out_proj c_fc c_proj), "
      "or all-linear");
    v("layers_to_transform", layers_to_transform_, "blocks to adapt, comma-separated (empty: all)");
    v("towers", towers_, "CLIP towers to adapt: text, image or text,image (LLaMA: ignored)");
    v("seed", seed_, "seed of lora_A's initialisation (default: the run seed)");
  }
};

class LoraImpl : public ModuleDeltaImpl {
 public:
  LoraImpl(LoraOptions options, std::vector<TowerLayout> layouts);

  std::optional<nn::LinearDelta> linear_at(size_t t, int64_t layer, nn::LinearSite site) override;
  bool same_for_every_row() const override { return !is_training() || options_.dropout() == 0; }
  std::map<std::string, std::string> hyperparameters() const override;
  const LoraOptions& options() const { return options_; }
  double scaling() const { return scaling_; }

 private:
  LoraOptions options_;
  double scaling_ = 1.0;
  std::vector<ModuleTargets> targets_;
  // (tower, layer, site) -> {lora_A, lora_B}
  std::map<std::tuple<size_t, int64_t, nn::LinearSite>, std::pair<at::Tensor, at::Tensor>> pairs_;
};
TORCH_MODULE(Lora);

}  // namespace vlprompt::prompts::delta_tuning
