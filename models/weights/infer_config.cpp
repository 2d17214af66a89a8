// Architecture from tensor shapes, following the rules of OpenAI's build_model so that any
// checkpoint OpenAI's code can load is read back as the same model.
#include <cmath>
#include <set>

#include "models/weights/weights.h"
#include "src/core/error.h"

namespace vlprompt::models::weights {
namespace {

const at::Tensor& require(const core::TensorMap& tensors, const std::string& name, int64_t dims,
                          const std::string& source) {
  auto it = tensors.find(name);
  if (it == tensors.end())
    throw FileError(source, "missing tensor '" + name + "', needed to infer the architecture");
  if (it->second.dim() != dims)
    throw FileError(source, "tensor '" + name + "' has " + std::to_string(it->second.dim()) +
                                " dimensions, expected " + std::to_string(dims));
  return it->second;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// Distinct values of the dotted component right after `prefix` ("<prefix>N.rest" -> N).
size_t count_indices(const core::TensorMap& tensors, const std::string& prefix) {
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    if (!starts_with(name, prefix)) continue;
    seen.insert(name.substr(prefix.size(), name.find('.', prefix.size()) - prefix.size()));
  }
  return seen.size();
}

// sqrt(positions - 1) must be a whole number: a class token plus a square grid.
int64_t square_grid(const at::Tensor& positional, const std::string& name,
                    const std::string& source) {
  const int64_t tokens = positional.size(0) - 1;
  const auto grid = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(tokens))));
  if (tokens < 1 || grid * grid != tokens)
    throw FileError(source, "tensor '" + name + "' has " + std::to_string(positional.size(0)) +
                                " rows, expected a class token plus a square grid (n*n + 1)");
  return grid;
}

VisionConfig infer_vit(const core::TensorMap& tensors, const std::string& source) {
  VisionConfig v;
  v.type = "vit";
  const at::Tensor& conv1 = require(tensors, "visual.conv1.weight", 4, source);
  v.width = conv1.size(0);
  v.patch_size = conv1.size(3);
  v.layers = 0;
  for (const auto& [name, t] : tensors) {
    if (starts_with(name, "visual.transformer.resblocks.") && name.size() > 20 &&
        name.compare(name.size() - 20, 20, ".attn.in_proj_weight") == 0)
      ++v.layers;
  }
  const std::string pos = "visual.positional_embedding";
  v.image_resolution = v.patch_size * square_grid(require(tensors, pos, 2, source), pos, source);
  v.heads = std::max<int64_t>(1, v.width / 64);
  return v;
}

VisionConfig infer_modified_resnet(const core::TensorMap& tensors, const std::string& source) {
  VisionConfig v;
  v.type = "modified_resnet";
  for (int stage = 1; stage <= 4; ++stage) {
    const std::string prefix = "visual.layer" + std::to_string(stage) + ".";
    v.resnet_layers.push_back(static_cast<int64_t>(count_indices(tensors, prefix)));
  }
  v.width = require(tensors, "visual.layer1.0.conv1.weight", 4, source).size(0);
  const std::string pos = "visual.attnpool.positional_embedding";
  v.image_resolution = 32 * square_grid(require(tensors, pos, 2, source), pos, source);
  v.heads = v.width * 32 / 64;
  v.layers = 0;
  v.patch_size = 0;
  return v;
}

}  // namespace

ClipConfig infer_config(const core::TensorMap& tensors, const std::string& source) {
  ClipConfig c;
  c.name = "inferred";
  c.vision = tensors.count("visual.proj") ? infer_vit(tensors, source)
                                          : infer_modified_resnet(tensors, source);
  c.embed_dim = require(tensors, "text_projection", 2, source).size(1);
  c.text.context_length = require(tensors, "positional_embedding", 2, source).size(0);
  c.text.vocab_size = require(tensors, "token_embedding.weight", 2, source).size(0);
  c.text.width = require(tensors, "ln_final.weight", 1, source).size(0);
  c.text.heads = std::max<int64_t>(1, c.text.width / 64);
  c.text.layers = static_cast<int64_t>(count_indices(tensors, "transformer.resblocks."));
  return c;
}

}  // namespace vlprompt::models::weights
