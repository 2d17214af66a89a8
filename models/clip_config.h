// The shape of a CLIP model: what models/configs/*.yaml hold and what is inferred from a
// checkpoint's tensor shapes (as OpenAI's build_model does). The tower type is always explicit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vlprompt::models {

struct VisionConfig {
  std::string type = "vit";  // "vit" or "modified_resnet"
  int64_t image_resolution = 224;
  int64_t width = 768;                 // ViT width, or ResNet stem width (64 for RN50)
  int64_t layers = 12;                 // ViT: transformer layers
  std::vector<int64_t> resnet_layers;  // ModifiedResNet: blocks per stage, e.g. {3, 4, 6, 3}
  int64_t patch_size = 16;             // ViT only
  int64_t heads = 12;                  // ViT: width / 64; ResNet: width * 32 / 64
};

struct TextConfig {
  int64_t context_length = 77;
  int64_t vocab_size = 49408;
  int64_t width = 512;
  int64_t heads = 8;
  int64_t layers = 12;
};

struct ClipConfig {
  std::string name;  // e.g. "ViT-B-16", or "inferred" for shapes read off a checkpoint
  int64_t embed_dim = 512;
  VisionConfig vision;
  TextConfig text;
};

}  // namespace vlprompt::models
