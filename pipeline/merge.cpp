#include "pipeline/merge.h"

#include <filesystem>
#include <set>

#include "models/clip/load_clip.h"
#include "models/llama/llama_weights.h"
#include "pipeline/lm_bundle.h"
#include "pipeline/model_kind.h"
#include "prompts/delta_tuning/frozen_tensors.h"
#include "prompts/lm/lm_delta_file.h"
#include "prompts/registry.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/nn/delta_linear.h"

namespace vlprompt::pipeline {
namespace {

namespace fs = std::filesystem;
using prompts::delta_tuning::FrozenTower;

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

// Folds `sites` into the model's own tensors in place (`tower` holds them, as views where CLIP
// fuses q, k and v): the model is loaded for the merge alone. A bias where the model has none is
// refused: a LLaMA folder has no place for it.
void fold(nn::DeltaSites* sites, const FrozenTower& tower, const std::string& path) {
  if (!sites) return;
  auto write = [&](const at::Tensor& target, const at::Tensor& merged, const std::string& what) {
    if (!merged.defined()) return;
    if (!target.defined()) {
      throw FileError(path, "its delta adds a bias to " + what +
                                ", which a LLaMA folder has no place for (attention_bias and "
                                "mlp_bias are not read); use it unmerged");
    }
    if (!merged.is_same(target)) target.copy_(merged);
  };
  for (const auto& [where, tensors] : tower.linear) {
    const auto d = sites->linear(where.first, where.second);
    if (!d) continue;
    const nn::MergedLinear m = nn::merge_linear(tensors.first, tensors.second, d);
    const std::string what = "a projection of block " + std::to_string(where.first);
    write(tensors.first, m.weight, what);
    write(tensors.second, m.bias, what);
  }
  for (const auto& [where, tensors] : tower.norm) {
    const auto d = sites->norm(where.first, where.second);
    if (!d) continue;
    const nn::NormAffine a = nn::norm_affine(tensors.first, tensors.second, d);
    const std::string what = "a norm";
    write(tensors.first, a.weight.detach().clone(), what);
    write(tensors.second, a.bias.defined() ? a.bias.detach().clone() : at::Tensor(), what);
  }
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
  fold(loaded.delta->sites(delta::Tower::kText, {}),
       prompts::delta_tuning::llama_frozen(context.model).at(0), r.delta);
  core::TensorMap w;
  for (const auto& p : context.model->named_parameters()) w[p.key()] = p.value();
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
  std::vector<prompts::delta_tuning::TowerLayout> layouts = prompts::delta_tuning::clip_layouts(
      m.clip.model, c.vision.type == "vit" ? "text,image" : "text", "merge");
  const std::vector<FrozenTower> towers = prompts::delta_tuning::clip_frozen(m.clip.model, layouts);
  for (size_t t = 0; t < layouts.size(); ++t) {
    fold(loaded.delta->sites(layouts[t].tower, {}), towers[t], r.delta);
  }
  const models::weights::Provenance provenance{
      m.clip.provenance.pretrained,
      "merged by vlprompt merge: " + file.info.method + " delta " + r.delta + " folded into " +
          m.clip.source +
          (m.clip.provenance.how_made.empty() ? "" : " (" + m.clip.provenance.how_made + ")")};
  models::weights::write_weights(r.out, models::weights::Format::kVlprompt, m.clip.model->weights(),
                                 c, m.clip.source, provenance);
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
