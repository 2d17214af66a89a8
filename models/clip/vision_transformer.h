// CLIP's ViT image tower: patchify (conv1, no bias), class token, positional embedding, ln_pre,
// transformer, ln_post on the class token, projection. Names are OpenAI's below "visual.".
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "models/clip_config.h"
#include "src/nn/delta_sites.h"
#include "src/nn/transformer.h"

namespace vlprompt::models {

class VisionTransformerImpl : public torch::nn::Module {
 public:
  VisionTransformerImpl(const VisionConfig& config, int64_t output_dim);

  // pixels [B, 3, R, R] -> [B, output_dim]. sites->input_tokens(x, undefined) sees the
  // [B, 1 + grid^2, width] tokens after the positional embedding, before ln_pre. The feature is
  // ln_post of the class token, or the mean of ln_post over sites->readout_span().
  at::Tensor forward(const at::Tensor& pixels, nn::DeltaSites* sites);

  torch::nn::Conv2d conv1{nullptr};
  at::Tensor class_embedding;       // [width]
  at::Tensor positional_embedding;  // [1 + grid^2, width]
  torch::nn::LayerNorm ln_pre{nullptr};
  nn::Transformer transformer{nullptr};
  torch::nn::LayerNorm ln_post{nullptr};
  at::Tensor proj;  // [width, output_dim]

 private:
  VisionConfig config_;
};
TORCH_MODULE(VisionTransformer);

}  // namespace vlprompt::models
