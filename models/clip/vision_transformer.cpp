#include "models/clip/vision_transformer.h"

#include <string>

#include "src/core/error.h"
#include "src/nn/delta_linear.h"

namespace vlprompt::models {
namespace {
torch::nn::LayerNorm layer_norm(int64_t width) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-5));
}
}  // namespace

VisionTransformerImpl::VisionTransformerImpl(const VisionConfig& config, int64_t output_dim)
    : config_(config) {
  const int64_t width = config.width, patch = config.patch_size;
  if (patch <= 0 || config.image_resolution % patch != 0) {
    throw Error("vision: image_resolution " + std::to_string(config.image_resolution) +
                " is not a multiple of patch_size " + std::to_string(patch));
  }
  const int64_t grid = config.image_resolution / patch;
  conv1 = register_module(
      "conv1",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(3, width, patch).stride(patch).bias(false)));
  class_embedding = register_parameter("class_embedding", at::zeros({width}));
  positional_embedding =
      register_parameter("positional_embedding", at::zeros({grid * grid + 1, width}));
  ln_pre = register_module("ln_pre", layer_norm(width));
  transformer = register_module(
      "transformer", nn::Transformer(nn::TransformerOptions(width, config.layers, config.heads)));
  ln_post = register_module("ln_post", layer_norm(width));
  proj = register_parameter("proj", at::zeros({width, output_dim}));
}

at::Tensor VisionTransformerImpl::forward(const at::Tensor& pixels, nn::DeltaSites* sites) {
  const int64_t res = config_.image_resolution;
  if (pixels.dim() != 4 || pixels.size(1) != 3 || pixels.size(2) != res || pixels.size(3) != res) {
    throw Error("encode_image: expected pixels [B, 3, " + std::to_string(res) + ", " +
                std::to_string(res) + "], got " + c10::str(pixels.sizes()));
  }
  const int64_t batch = pixels.size(0), width = config_.width, patch = config_.patch_size;
  const int64_t grid = res / patch;
  // A convolution whose stride equals its kernel is one GEMM over non-overlapping patches:
  // [B, 3, g, p, g, p] -> [B*g*g, 3*p*p] (channel, row, column: conv1's weight order) x W^T.
  const at::Tensor cols = pixels.to(conv1->weight.dtype())
                              .reshape({batch, 3, grid, patch, grid, patch})
                              .permute({0, 2, 4, 1, 3, 5})
                              .reshape({batch * grid * grid, 3 * patch * patch});
  const at::Tensor conv = nn::tower_tensor_or(sites, "visual.conv1.weight", conv1->weight);
  const at::Tensor patches =
      at::mm(cols, conv.reshape({width, 3 * patch * patch}).t()).view({batch, grid * grid, width});
  at::Tensor cls = nn::tower_tensor_or(sites, "visual.class_embedding", class_embedding)
                       .view({1, 1, width})
                       .expand({batch, 1, width});
  at::Tensor x = at::cat({cls, patches}, 1) +
                 nn::tower_tensor_or(sites, "visual.positional_embedding", positional_embedding);
  if (sites) x = sites->input_tokens(x, at::Tensor());
  auto norm = [&](torch::nn::LayerNorm& ln, nn::NormSite site, const at::Tensor& in) {
    const auto delta = nn::norm_delta(sites, -1, site);
    return delta ? nn::apply_layer_norm(in, ln->weight, ln->bias, 1e-5, delta) : ln->forward(in);
  };
  x = transformer->forward(norm(ln_pre, nn::NormSite::kInput, x), sites);
  const auto span = sites ? sites->readout_span() : std::nullopt;
  at::Tensor feature;
  if (span) {
    const auto [first, count] = *span;
    if (first < 0 || count < 1 || first + count > x.size(1)) {
      throw Error("encode_image: the readout positions [" + std::to_string(first) + ", " +
                  std::to_string(first + count) + ") are outside the " + std::to_string(x.size(1)) +
                  " tokens");
    }
    feature = norm(ln_post, nn::NormSite::kFinal, x.slice(1, first, first + count)).mean(1);
  } else {
    feature = norm(ln_post, nn::NormSite::kFinal, x.select(1, 0));
  }
  return at::matmul(feature, nn::tower_tensor_or(sites, "visual.proj", proj));
}

}  // namespace vlprompt::models
