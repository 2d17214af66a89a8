// CLIP's ModifiedResNet image tower (RN50, RN101, ...): a 3-convolution stem with an average
// pool, Bottleneck stages that downsample by average pooling (anti-aliased) instead of strided
// convolutions, and attention pooling with the mean token as the query. Batch norms always use
// their running statistics. Names are OpenAI's below "visual.".
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "models/clip_config.h"

namespace vlprompt::models {

// The shortcut of a block that changes shape: AvgPool2d(stride) (no parameters, OpenAI's "-1"),
// then "0" (1x1 conv) and "1" (batch norm).
class DownsampleImpl : public torch::nn::Module {
 public:
  DownsampleImpl(int64_t in_channels, int64_t out_channels, int64_t stride);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};

 private:
  int64_t stride_;
};
TORCH_MODULE(Downsample);

class BottleneckImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  Downsample downsample{nullptr};  // only when stride > 1 or the channel count changes

 private:
  int64_t stride_;
};
TORCH_MODULE(Bottleneck);

// Multi-head attention of the mean token (query) over [mean, all positions] (keys/values).
class AttentionPool2dImpl : public torch::nn::Module {
 public:
  AttentionPool2dImpl(int64_t spacial_dim, int64_t embed_dim, int64_t heads, int64_t output_dim);
  at::Tensor forward(const at::Tensor& x);  // [B, C, S, S] -> [B, output_dim]

  at::Tensor positional_embedding;  // [S^2 + 1, C]
  torch::nn::Linear k_proj{nullptr}, q_proj{nullptr}, v_proj{nullptr}, c_proj{nullptr};

 private:
  int64_t heads_;
};
TORCH_MODULE(AttentionPool2d);

class ModifiedResNetImpl : public torch::nn::Module {
 public:
  ModifiedResNetImpl(const VisionConfig& config, int64_t output_dim);
  at::Tensor forward(const at::Tensor& pixels);  // [B, 3, R, R] -> [B, output_dim]

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  std::vector<torch::nn::ModuleList> stages;  // "layer1" ... "layer4"
  AttentionPool2d attnpool{nullptr};

 private:
  VisionConfig config_;
};
TORCH_MODULE(ModifiedResNet);

}  // namespace vlprompt::models
