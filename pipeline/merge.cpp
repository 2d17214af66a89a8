#include "pipeline/merge.h"

#include <filesystem>
#include <set>

#include "models/clip/load_clip.h"
#include "models/llama/llama_weights.h"
#include "pipeline/lm_bundle.h"
#include "pipeline/model_kind.h"
#include "prompts/lm/lm_delta_file.h"
#include "prompts/registry.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/nn/delta_linear.h"

namespace vlprompt::pipeline {
namespace {

namespace fs = std::filesystem;

const std::set<std::string> kMergeable = {"lora", "ia3", "bitfit", "ln_tuning"};

void check_mergeable(const delta::DeltaFileInfo& info, const std::string& path) {
  for (const auto& m : prompts::method_members(info.method)) {
    if (!kMergeable.count(m)) {
      throw FileError(path, "member '" + m + "' of " + info.method +
                                " is not a change of the weights, so it cannot be merged into "
                                "them; merge folds lora, ia3, bitfit and ln_tuning");
    }
  }
}

// Where a tower keeps its tensors, by the model's own names.
struct TowerNames {
  std::string blocks;  // "transformer.resblocks.", "model.layers."
  int64_t layers = 0;
  int64_t width = 0;
  bool fused_qkv = false;  // CLIP's attn.in_proj_weight
  std::map<nn::LinearSite, std::string> linear;
  std::string norm_attention, norm_mlp;
  std::map<nn::NormSite, std::string> edge_norms;  // layer -1
};

TowerNames clip_tower(const std::string& prefix, int64_t layers, int64_t width) {
  TowerNames t;
  t.blocks = prefix + "transformer.resblocks.";
  t.layers = layers;
  t.width = width;
  t.fused_qkv = true;
  t.linear = {{nn::LinearSite::kOut, "attn.out_proj"},
              {nn::LinearSite::kUp, "mlp.c_fc"},
              {nn::LinearSite::kDown, "mlp.c_proj"}};
  t.norm_attention = "ln_1";
  t.norm_mlp = "ln_2";
  return t;
}

// Folds `sites` into `weights` (the model's tensors by name, replaced by merged copies).
void fold(nn::DeltaSites* sites, const TowerNames& t, core::TensorMap& w, const std::string& path,
          bool has_biases) {
  if (!sites) return;
  auto no_bias = [&](const at::Tensor& b, const std::string& what) {
    if (b.defined() && !has_biases) {
      throw FileError(path, "its delta adds a bias to " + what +
                                ", which a LLaMA folder has no place for (attention_bias and "
                                "mlp_bias are not read); use it unmerged");
    }
  };
  auto fold_linear = [&](const std::string& name, const std::optional<nn::LinearDelta>& d) {
    if (!d) return;
    const at::Tensor bias = has_biases ? w.at(name + ".bias") : at::Tensor();
    const nn::MergedLinear m = nn::merge_linear(w.at(name + ".weight"), bias, d);
    no_bias(m.bias, name);
    w[name + ".weight"] = m.weight;
    if (m.bias.defined()) w[name + ".bias"] = m.bias;
  };
  auto fold_norm = [&](const std::string& name, const std::optional<nn::NormDelta>& d) {
    if (!d) return;
    const at::Tensor bias = has_biases ? w.at(name + ".bias") : at::Tensor();
    const nn::NormAffine a = nn::norm_affine(w.at(name + ".weight"), bias, d);
    no_bias(a.bias, name);
    w[name + ".weight"] = a.weight.detach().clone();
    if (a.bias.defined()) w[name + ".bias"] = a.bias.detach().clone();
  };
  for (int64_t l = 0; l < t.layers; ++l) {
    const std::string block = t.blocks + std::to_string(l) + ".";
    if (t.fused_qkv) {
      at::Tensor weight = w.at(block + "attn.in_proj_weight").clone();
      at::Tensor bias = w.at(block + "attn.in_proj_bias").clone();
      const nn::LinearSite qkv[] = {nn::LinearSite::kQ, nn::LinearSite::kK, nn::LinearSite::kV};
      for (int64_t i = 0; i < 3; ++i) {
        const auto d = sites->linear(l, qkv[i]);
        if (!d) continue;
        const nn::MergedLinear m = nn::merge_linear(weight.narrow(0, i * t.width, t.width),
                                                    bias.narrow(0, i * t.width, t.width), d);
        weight.narrow(0, i * t.width, t.width).copy_(m.weight);
        bias.narrow(0, i * t.width, t.width).copy_(m.bias);
      }
      w[block + "attn.in_proj_weight"] = weight;
      w[block + "attn.in_proj_bias"] = bias;
    }
    for (const auto& [site, name] : t.linear) fold_linear(block + name, sites->linear(l, site));
    fold_norm(block + t.norm_attention, sites->norm(l, nn::NormSite::kAttention));
    fold_norm(block + t.norm_mlp, sites->norm(l, nn::NormSite::kMlp));
  }
  for (const auto& [site, name] : t.edge_norms) fold_norm(name, sites->norm(-1, site));
}

core::TensorMap detached_copy(const core::TensorMap& tensors) {
  core::TensorMap out;
  for (const auto& [name, t] : tensors) out[name] = t.detach().clone();
  return out;
}

std::string merge_llama(const MergeRequest& r, const delta::DeltaFile& file) {
  const std::string folder = resolve_lm_folder(r.model.model);
  prompts::LmMethodContext context;
  core::Metadata metadata;
  context.model = models::llama::load_llama(folder, &metadata);
  context.load_only = true;
  const prompts::lm::LoadedLmDelta loaded = prompts::lm::load_lm_delta(file, r.delta, context);
  loaded.delta->eval();
  at::NoGradGuard no_grad;
  const auto& c = context.model->config();
  TowerNames t;
  t.blocks = "model.layers.";
  t.layers = c.num_hidden_layers;
  t.linear = {{nn::LinearSite::kQ, "self_attn.q_proj"}, {nn::LinearSite::kK, "self_attn.k_proj"},
              {nn::LinearSite::kV, "self_attn.v_proj"}, {nn::LinearSite::kOut, "self_attn.o_proj"},
              {nn::LinearSite::kGate, "mlp.gate_proj"}, {nn::LinearSite::kUp, "mlp.up_proj"},
              {nn::LinearSite::kDown, "mlp.down_proj"}};
  t.norm_attention = "input_layernorm";
  t.norm_mlp = "post_attention_layernorm";
  t.edge_norms = {{nn::NormSite::kFinal, "model.norm"}};
  core::TensorMap w;
  for (const auto& p : context.model->named_parameters()) w[p.key()] = p.value().detach().clone();
  fold(loaded.delta->sites(delta::Tower::kText, {}), t, w, r.delta, /*has_biases=*/false);
  // A folder written beside OUT, then renamed: a half-written model never sits at OUT.
  const fs::path out(r.out), tmp(r.out + ".tmp");
  if (fs::exists(out)) throw Error("merge: " + r.out + " exists; choose another --out");
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  for (const char* name :
       {"config.json", "generation_config.json", "tokenizer.model", "tokenizer_config.json",
        "tokenizer.json", "special_tokens_map.json", "pretraining.json"}) {
    if (fs::is_regular_file(fs::path(folder) / name))
      fs::copy_file(fs::path(folder) / name, tmp / name);
  }
  core::Metadata meta{{"format", "pt"}};
  meta["provenance"] = "merged by vlprompt merge: " + file.info.method + " delta " + r.delta +
                       " folded into " + folder +
                       (metadata.count("provenance") ? " (" + metadata.at("provenance") + ")" : "");
  if (metadata.count("pretrained")) meta["pretrained"] = metadata.at("pretrained");
  core::write_safetensors((tmp / "model.safetensors").string(), w, meta);
  fs::rename(tmp, out);
  return "merged " + r.delta + " (" + file.info.method + ") into " + folder + " -> " + r.out +
         " (a Hugging Face folder)";
}

std::string merge_clip(const MergeRequest& r, const delta::DeltaFile& file) {
  const ModelBundle m = load_model_bundle(r.model);
  const prompts::LoadedDelta loaded = prompts::load_delta(r.delta, m.clip.model, m.tokenizer);
  loaded.delta->eval();
  at::NoGradGuard no_grad;
  const auto& c = m.clip.model->config();
  core::TensorMap w = detached_copy(m.clip.model->weights());
  TowerNames text = clip_tower("", c.text.layers, c.text.width);
  text.edge_norms = {{nn::NormSite::kFinal, "ln_final"}};
  fold(loaded.delta->sites(delta::Tower::kText, {}), text, w, r.delta, true);
  if (c.vision.type == "vit") {
    TowerNames image = clip_tower("visual.", c.vision.layers, c.vision.width);
    image.edge_norms = {{nn::NormSite::kInput, "visual.ln_pre"},
                        {nn::NormSite::kFinal, "visual.ln_post"}};
    fold(loaded.delta->sites(delta::Tower::kImage, {}), image, w, r.delta, true);
  }
  const models::weights::Provenance provenance{
      m.clip.provenance.pretrained,
      "merged by vlprompt merge: " + file.info.method + " delta " + r.delta + " folded into " +
          m.clip.source +
          (m.clip.provenance.how_made.empty() ? "" : " (" + m.clip.provenance.how_made + ")")};
  models::weights::write_weights(r.out, models::weights::Format::kVlprompt, w, c, m.clip.source,
                                 provenance);
  return "merged " + r.delta + " (" + file.info.method + ") into " + m.clip.source + " -> " +
         r.out + " (vlprompt .safetensors)";
}

}  // namespace

std::string merge_delta(const MergeRequest& r) {
  const delta::DeltaFile file = delta::read_delta(r.delta);
  check_mergeable(file.info, r.delta);
  return std::string(model_kind_of(file).name) == "llama" ? merge_llama(r, file)
                                                          : merge_clip(r, file);
}

}  // namespace vlprompt::pipeline
