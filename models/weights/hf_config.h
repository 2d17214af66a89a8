// Hugging Face CLIPConfig (config.json) <-> ClipConfig. HF has only ViT image towers.
#pragma once

#include <string>

#include "models/clip_config.h"

namespace vlprompt::models::weights {

// Reads `text_config` / `vision_config` (or the older `*_config_dict`), with HF's defaults for
// absent keys. Refuses what the canonical model cannot compute: hidden_act other than
// quick_gelu, an MLP not 4x wide, layer_norm_eps other than 1e-5.
ClipConfig hf_config_from_json(const std::string& text, const std::string& path);

// A config.json transformers' CLIPModel.from_pretrained accepts.
std::string hf_config_to_json(const ClipConfig& config);

}  // namespace vlprompt::models::weights
