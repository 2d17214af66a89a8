#include "models/clip/load_clip.h"

#include <filesystem>
#include <string>

#include "models/weights/weights.h"
#include "src/core/error.h"

namespace vlprompt::models {

LoadedClip load_clip(const std::string& model, uint64_t seed) {
  namespace fs = std::filesystem;
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
    return out;
  }
  // Not a file: a path-looking argument is a missing file, anything else a config name.
  if (!yaml && (model.find('/') != std::string::npos || !ext.empty())) {
    throw FileError(
        model, "no such model file or folder (nor a model config; configs: " + [] {
          std::string names;
          for (const auto& n : list_configs()) {
            names += (names.empty() ? "" : ", ") + n;
          }
          return names;
        }() + ")");
  }
  const ClipConfig config = load_config(model);
  LoadedClip out;
  out.model = init_clip(config, seed);
  out.source = "config:" + config.name + " (random init, seed " + std::to_string(seed) +
               " \xE2\x80\x94 not pretrained)";
  out.format = "init";
  return out;
}

}  // namespace vlprompt::models
