// The module-level sites a backbone offers, described once for the Delta Tuning methods (LoRA,
// IA3, adapters, BitFit, LN tuning): per tower, its blocks, each projection's shape and each
// norm. A method builds its tensors from a layout and never asks which backbone it is on, so one
// method name trains on CLIP's towers and on a LLaMA-family LM alike.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "models/llama/llama_config.h"
#include "src/delta/delta.h"
#include "src/nn/delta_sites.h"

namespace vlprompt::prompts::delta_tuning {

struct LinearShape {
  int64_t in = 0;
  int64_t out = 0;
};

struct NormSlot {
  int64_t layer = -1;  // -1: the tower's input or final norm
  nn::NormSite site = nn::NormSite::kAttention;
  bool has_bias = true;  // LayerNorm yes, RMSNorm no
  // "layers.3.ln_1", "ln_final", "layers.0.input_layernorm": the norm's name below the tower.
  std::string name;
};

struct TowerLayout {
  delta::Tower tower = delta::Tower::kText;
  std::string name;  // "text" | "image": the tensors' first name part
  nn::SiteNaming naming = nn::SiteNaming::kClip;
  int64_t layers = 0;
  int64_t width = 0;
  std::map<nn::LinearSite, LinearShape> linears;  // the same in every block
  std::vector<NormSlot> norms;
  // Where the tower's tensors live (the backbone's device).
  at::Device device = at::kCPU;
};

// "clip" | "llama": what a delta file records, so a dual method's file names its model kind.
std::string naming_name(nn::SiteNaming naming);

// CLIP's towers named in `towers` ("text", "image" or both, comma-separated); the image tower
// must be a ViT. Errors name `owner` ("lora") and the key.
std::vector<TowerLayout> clip_layouts(const models::Clip& clip, const std::string& towers,
                                      const std::string& owner);
// A LLaMA-family decoder: one tower, "text".
std::vector<TowerLayout> llama_layouts(const models::llama::LlamaConfig& config,
                                       const at::Device& device);

// PEFT's target_modules and layers_to_transform against one tower: `modules` is comma-separated
// site names (PEFT's on LLaMA; on CLIP OpenAI's, or LLaMA's where CLIP has the same projection)
// or "all-linear"; `layers` is comma-separated block indices, empty for all. An unknown name or
// a layer past the tower is an Error naming `owner`, the key and what the tower has.
struct ModuleTargets {
  std::set<nn::LinearSite> sites;
  std::set<int64_t> layers;  // empty: every block
  bool covers(int64_t layer, nn::LinearSite site) const {
    return sites.count(site) && (layers.empty() || layers.count(layer));
  }
};
ModuleTargets parse_targets(const std::string& modules, const std::string& layers,
                            const TowerLayout& layout, const std::string& owner);

// A site's name under its tower's naming ("q_proj", "c_fc").
std::string site_name(const TowerLayout& layout, nn::LinearSite site);

}  // namespace vlprompt::prompts::delta_tuning
