#include "models/clip/load_clip.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "models/weights/weights.h"
#include "src/core/config.h"
#include "src/core/error.h"

namespace vlprompt::models {

namespace fs = std::filesystem;

std::string pretrained_dir() {
  if (const char* env = std::getenv("VLPROMPT_PRETRAINED_DIR"); env && *env) return env;
  return VLPROMPT_SOURCE_DIR "/models/pretrained";
}

std::vector<std::string> list_pretrained() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(pretrained_dir(), ec)) {
    if (entry.path().extension() == ".safetensors" && entry.is_regular_file(ec))
      names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

std::string comma_list(const std::vector<std::string>& items) {
  std::string names;
  for (const auto& n : items) names += (names.empty() ? "" : ", ") + n;
  return names;
}

// A bare name of shipped weights -> its file; anything else unchanged.
std::string resolve_shipped(const std::string& model) {
  if (model.find('/') != std::string::npos || !fs::path(model).extension().empty()) return model;
  const std::string path = pretrained_dir() + "/" + model + ".safetensors";
  std::error_code ec;
  return fs::is_regular_file(path, ec) ? path : model;
}

}  // namespace

LoadedClip load_clip(const std::string& model_arg, uint64_t seed) {
  const std::string model = resolve_shipped(model_arg);
  const std::string ext = fs::path(model).extension().string();
  const bool yaml = ext == ".yaml" || ext == ".yml";
  std::error_code ec;
  if (!yaml && fs::exists(model, ec)) {
    weights::LoadedWeights loaded = weights::read_weights(model);
    ClipConfig config = loaded.config ? *loaded.config : weights::infer_config(loaded.tensors);
    if (config.name.empty()) config.name = fs::path(model).stem().string();
    LoadedClip out;
    out.model = Clip(config);
    out.model->load_weights(loaded.tensors, model);
    out.source = model;
    out.format = weights::format_name(loaded.format);
    out.vocab = loaded.vocab;
    out.provenance = loaded.provenance;
    return out;
  }
  // Not a file: a path-looking argument is a missing file, anything else a config name.
  if (!yaml && (model.find('/') != std::string::npos || !ext.empty())) {
    throw FileError(model, "no such model file or folder (nor a model config; configs: " +
                               comma_list(list_configs()) +
                               "; shipped weights: " + comma_list(list_pretrained()) + ")");
  }
  if (!yaml && model.find('/') == std::string::npos) {
    const std::vector<std::string> configs = list_configs(), shipped = list_pretrained();
    if (std::find(configs.begin(), configs.end(), model) == configs.end()) {
      std::vector<std::string> all = shipped;
      all.insert(all.end(), configs.begin(), configs.end());
      throw Error("unknown model '" + model +
                  "': not a file or folder, nor shipped weights, nor a "
                  "model config (did you mean '" +
                  core::closest_key(model, all) + "'? shipped weights: " + comma_list(shipped) +
                  "; configs: " + comma_list(configs) + ")");
    }
  }
  const ClipConfig config = load_config(model);
  LoadedClip out;
  out.model = init_clip(config, seed);
  out.source = "config:" + config.name + " (random init, seed " + std::to_string(seed) +
               " \xE2\x80\x94 not pretrained)";
  out.format = "init";
  out.provenance = {
      false, "random initialisation of config " + config.name + ", seed " + std::to_string(seed)};
  return out;
}

}  // namespace vlprompt::models
