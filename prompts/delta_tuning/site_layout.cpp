#include "prompts/delta_tuning/site_layout.h"

#include "src/core/error.h"
#include "src/core/strings.h"

namespace vlprompt::prompts::delta_tuning {
namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? comma : comma - start);
    const size_t b = part.find_first_not_of(" \t"), e = part.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(part.substr(b, e - b + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

void add_block_norms(TowerLayout& t, const char* first, const char* second, bool bias) {
  for (int64_t l = 0; l < t.layers; ++l) {
    const std::string block =
        (t.naming == nn::SiteNaming::kClip ? "resblocks." : "layers.") + std::to_string(l) + ".";
    t.norms.push_back({l, nn::NormSite::kAttention, bias, block + first});
    t.norms.push_back({l, nn::NormSite::kMlp, bias, block + second});
  }
}

TowerLayout clip_tower(delta::Tower tower, int64_t layers, int64_t width, const at::Device& d) {
  TowerLayout t;
  t.tower = tower;
  t.name = delta::tower_name(tower);
  t.naming = nn::SiteNaming::kClip;
  t.layers = layers;
  t.width = width;
  t.device = d;
  for (auto site :
       {nn::LinearSite::kQ, nn::LinearSite::kK, nn::LinearSite::kV, nn::LinearSite::kOut}) {
    t.linears[site] = {width, width};
  }
  t.linears[nn::LinearSite::kUp] = {width, 4 * width};
  t.linears[nn::LinearSite::kDown] = {4 * width, width};
  add_block_norms(t, "ln_1", "ln_2", true);
  return t;
}

}  // namespace

std::string naming_name(nn::SiteNaming naming) {
  return naming == nn::SiteNaming::kClip ? "clip" : "llama";
}

std::string site_name(const TowerLayout& layout, nn::LinearSite site) {
  return nn::linear_site_name(site, layout.naming);
}

std::vector<TowerLayout> clip_layouts(const models::Clip& clip, const std::string& towers,
                                      const std::string& owner) {
  if (!clip) throw Error(owner + ": no CLIP model given");
  const auto& config = clip->config();
  const at::Device device = models::weights_device(clip);
  std::vector<TowerLayout> out;
  const std::vector<std::string> names = split_list(towers);
  if (names.empty()) throw Error(owner + ".towers is empty; expected text, image or text,image");
  std::set<std::string> seen;
  for (const auto& name : names) {
    if (!seen.insert(name).second) throw Error(owner + ".towers names '" + name + "' twice");
    if (name == "text") {
      TowerLayout t =
          clip_tower(delta::Tower::kText, config.text.layers, config.text.width, device);
      t.norms.push_back({-1, nn::NormSite::kFinal, true, "ln_final"});
      out.push_back(std::move(t));
    } else if (name == "image") {
      if (config.vision.type != "vit") {
        throw Error(owner + ".towers: the image tower of " + config.name + " is a " +
                    config.vision.type +
                    ", which has no transformer blocks; use towers: text, or a ViT model");
      }
      TowerLayout t =
          clip_tower(delta::Tower::kImage, config.vision.layers, config.vision.width, device);
      t.norms.push_back({-1, nn::NormSite::kInput, true, "ln_pre"});
      t.norms.push_back({-1, nn::NormSite::kFinal, true, "ln_post"});
      out.push_back(std::move(t));
    } else {
      throw Error(owner + ".towers: '" + name + "' is not a tower; expected text and/or image");
    }
  }
  return out;
}

std::vector<TowerLayout> llama_layouts(const models::llama::LlamaConfig& config,
                                       const at::Device& device) {
  TowerLayout t;
  t.tower = delta::Tower::kText;
  t.name = "text";
  t.naming = nn::SiteNaming::kLlama;
  t.layers = config.num_hidden_layers;
  t.width = config.hidden_size;
  t.device = device;
  const int64_t w = config.hidden_size, q = config.num_attention_heads * config.head_dim();
  const int64_t kv = config.kv_width(), ff = config.intermediate_size;
  t.linears[nn::LinearSite::kQ] = {w, q};
  t.linears[nn::LinearSite::kK] = {w, kv};
  t.linears[nn::LinearSite::kV] = {w, kv};
  t.linears[nn::LinearSite::kOut] = {q, w};
  t.linears[nn::LinearSite::kGate] = {w, ff};
  t.linears[nn::LinearSite::kUp] = {w, ff};
  t.linears[nn::LinearSite::kDown] = {ff, w};
  add_block_norms(t, "input_layernorm", "post_attention_layernorm", false);
  t.norms.push_back({-1, nn::NormSite::kFinal, false, "norm"});
  return {t};
}

ModuleTargets parse_targets(const std::string& modules, const std::string& layers,
                            const TowerLayout& layout, const std::string& owner) {
  ModuleTargets out;
  std::vector<std::string> known;
  for (const auto& [site, shape] : layout.linears) known.push_back(site_name(layout, site));
  const std::vector<std::string> names = split_list(modules);
  if (names.empty()) {
    throw Error(owner + ".target_modules is empty; the " + layout.name +
                " tower has: " + join(known) + " (or all-linear)");
  }
  for (const auto& name : names) {
    if (name == "all-linear" || name == "all_linear") {
      for (const auto& [site, shape] : layout.linears) out.sites.insert(site);
      continue;
    }
    std::optional<nn::LinearSite> site = nn::linear_site_from_name(name, layout.naming);
    // CLIP answers to LLaMA's names for the projections it shares (o, up, down), so one YAML
    // targets either backbone.
    if (!site && layout.naming == nn::SiteNaming::kClip && name != "gate_proj") {
      site = nn::linear_site_from_name(name, nn::SiteNaming::kLlama);
    }
    if (!site || !layout.linears.count(*site)) {
      throw Error(owner + ".target_modules: '" + name + "' is not a projection of the " +
                  naming_name(layout.naming) + " " + layout.name +
                  " tower, which has: " + join(known) + " (or all-linear)");
    }
    out.sites.insert(*site);
  }
  for (const auto& part : split_list(layers)) {
    int64_t layer = -1;
    try {
      size_t used = 0;
      layer = std::stoll(part, &used);
      if (used != part.size()) layer = -1;
    } catch (const std::exception&) {
      layer = -1;
    }
    if (layer < 0 || layer >= layout.layers) {
      throw Error(owner + ".layers_to_transform: '" + part + "' is not a block of the " +
                  layout.name + " tower (0.." + std::to_string(layout.layers - 1) + ")");
    }
    out.layers.insert(layer);
  }
  return out;
}

}  // namespace vlprompt::prompts::delta_tuning
