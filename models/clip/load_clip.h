// The one entry point from a `--model` argument to a ready, frozen Clip.
#pragma once

#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "models/weights/weights.h"

namespace vlprompt::models {

// The architecture folder: $VLPROMPT_CONFIG_DIR when set, else the source tree's models/configs.
std::string config_dir();
// Architectures in models/configs/*.yaml (the folder is the registry), sorted.
std::vector<std::string> list_configs();
// Weights that ship with the project: $VLPROMPT_PRETRAINED_DIR when set, else the source tree's
// models/pretrained. `--model NAME` names NAME.safetensors there (e.g. tiny-pretrained).
std::string pretrained_dir();
std::vector<std::string> list_pretrained();
// Reads models/configs/<name>.yaml (or a path to a .yaml); unknown keys and names are errors
// naming the file/key and the valid choices.
ClipConfig load_config(const std::string& name_or_path);

struct LoadedClip {
  Clip model{nullptr};
  std::string source;              // the path, or "config:<name> (random init, seed S)"
  std::string format;              // "openai-pt", "hf", "vlprompt", "init"
  std::string vocab;               // tokenizer file found beside the weights, "" if none
  weights::Provenance provenance;  // pretrained or not (when known) and how it was made
};

// `model` is an OpenAI .pt archive, an HF CLIP folder, a vlprompt .safetensors, the name of
// shipped weights (list_pretrained), or a config name (random weights from `seed`, said plainly
// in `source`). Architecture: from the file's own
// config when it has one, else inferred from tensor shapes.
LoadedClip load_clip(const std::string& model, uint64_t seed = 0);

// Deterministic random initialisation following CLIP's init scheme (for demos and tests).
Clip init_clip(const ClipConfig& config, uint64_t seed);

}  // namespace vlprompt::models
