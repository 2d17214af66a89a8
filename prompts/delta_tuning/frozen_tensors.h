// The frozen backbone's own tensors at each module-level site, for the methods that train copies
// of them (Partial-k, full fine-tuning): CLIP's by OpenAI's names (q, k and v as row blocks of
// attn.in_proj), LLaMA's by Hugging Face's.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "models/clip/clip_model.h"
#include "models/llama/llama_model.h"
#include "prompts/delta_tuning/site_layout.h"

namespace vlprompt::prompts::delta_tuning {

struct FrozenTower {
  // (layer, site) -> (weight, bias); the bias is undefined where the backbone has none.
  std::map<std::pair<int64_t, nn::LinearSite>, std::pair<at::Tensor, at::Tensor>> linear;
  std::map<std::pair<int64_t, nn::NormSite>, std::pair<at::Tensor, at::Tensor>> norm;
  // The tensors outside the blocks, by the names nn::DeltaSites::tower_tensor uses.
  std::map<std::string, at::Tensor> edges;
};

// One FrozenTower per layout, in the layouts' order.
std::vector<FrozenTower> clip_frozen(const models::Clip& clip,
                                     const std::vector<TowerLayout>& layouts);
std::vector<FrozenTower> llama_frozen(const models::llama::LlamaModel& model);

}  // namespace vlprompt::prompts::delta_tuning
