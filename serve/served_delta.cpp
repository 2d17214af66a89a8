#include "serve/served_delta.h"

#include <chrono>

#include "pipeline/text_delta.h"
#include "src/core/error.h"

namespace vlprompt::serve {
namespace {

// Whether `sites` replaces a frozen LM weight anywhere (see load_served_delta).
std::string replaced_weight(nn::DeltaSites* sites, int64_t layers) {
  if (!sites || !sites->has_module_sites()) return "";
  for (const char* name : {"model.embed_tokens.weight", "lm_head.weight"})
    if (sites->tower_tensor(name).defined()) return name;
  for (int64_t l = 0; l < layers; ++l) {
    for (nn::LinearSite site : nn::linear_sites(nn::SiteNaming::kLlama)) {
      const auto d = sites->linear(l, site);
      if (d && (d->weight.defined() || d->bias.defined()))
        return "layer " + std::to_string(l) + " " +
               nn::linear_site_name(site, nn::SiteNaming::kLlama);
    }
    for (nn::NormSite site : {nn::NormSite::kAttention, nn::NormSite::kMlp}) {
      const auto d = sites->norm(l, site);
      if (d && (d->weight.defined() || d->bias.defined()))
        return "layer " + std::to_string(l) + " norm";
    }
  }
  const auto d = sites->norm(-1, nn::NormSite::kFinal);
  if (d && (d->weight.defined() || d->bias.defined())) return "the final norm";
  return "";
}

}  // namespace

void check_delta_name(const std::string& name, const std::string& where) {
  bool ok = !name.empty() && name.size() <= 128 && name != "base";
  for (char c : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  if (!ok)
    throw Error(where + ": delta name '" + name +
                "' must be 1-128 letters, digits, '-', '_' or '.', and not 'base'");
}

std::shared_ptr<const ServedDelta> load_served_delta(const std::string& name,
                                                     const std::string& path,
                                                     const FrozenModels& models) {
  auto out = std::make_shared<ServedDelta>();
  out->name = name;
  out->path = path;
  std::error_code ec;
  out->mtime = std::filesystem::last_write_time(path, ec);
  out->bytes = std::filesystem::file_size(path, ec);
  out->loaded_at = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const delta::DeltaFile file = delta::read_delta(path);
  const std::string& fp = file.info.backbone_fingerprint;
  if (models.lm && fp == models.lm->fingerprint) {
    pipeline::LoadedTextDelta loaded = pipeline::load_text_delta(file, path, *models.lm);
    out->model = DeltaModel::kLm;
    out->info = loaded.info;
    out->lm_delta = loaded.delta;
    out->lm_options = loaded.options;
    out->lm_delta->to(models.lm->model->head_weight().device());
    out->lm_delta->eval();
    out->lm_sites = out->lm_delta->sites(delta::Tower::kText, out->lm_context);
    const std::string replaced =
        replaced_weight(out->lm_sites, models.lm->model->config().num_hidden_layers);
    if (!replaced.empty())
      throw FileError(
          path, "replaces the frozen model's " + replaced + " (method '" + loaded.info.method +
                    "'): its rows cannot share a batch with other deltas; merge it "
                    "into a model folder (vlprompt merge) and serve that as --lm-model");
    return out;
  }
  if (models.clip && fp == models.clip->clip.model->fingerprint()) {
    prompts::MethodContext context;
    context.clip = models.clip->clip.model;
    context.tokenizer = models.clip->tokenizer;
    context.classnames = file.info.classnames;
    context.text_template = file.info.prompt_template;
    prompts::LoadedMethod loaded = prompts::method_from_delta_file(file, path, context);
    loaded.method->set_training(false);
    out->model = DeltaModel::kClip;
    out->info = loaded.info;
    out->image_side = loaded.method->data_needs().images_in_loop;
    out->clip_method = std::move(loaded.method);
    return out;
  }
  std::string have;
  if (models.lm) have += " the LM " + models.lm->name + " (" + models.lm->fingerprint + ")";
  if (models.clip)
    have += std::string(have.empty() ? "" : " and") + " the CLIP " +
            models.clip->clip.model->config().name + " (" + models.clip->clip.model->fingerprint() +
            ")";
  throw FileError(path, "was trained on " + file.info.backbone + " (fingerprint " + fp +
                            "); this server holds" + (have.empty() ? " no model" : have));
}

std::shared_ptr<const ServedDelta> DeltaRegistry::find(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = deltas_.find(name);
  return it == deltas_.end() ? nullptr : it->second;
}

void DeltaRegistry::put(std::shared_ptr<const ServedDelta> delta) {
  std::lock_guard<std::mutex> lock(mutex_);
  deltas_[delta->name] = std::move(delta);
}

void DeltaRegistry::remove(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  deltas_.erase(name);
}

std::vector<std::shared_ptr<const ServedDelta>> DeltaRegistry::list() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<const ServedDelta>> out;
  for (const auto& [name, d] : deltas_) out.push_back(d);
  return out;
}

}  // namespace vlprompt::serve
