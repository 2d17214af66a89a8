#include "models/clip/modified_resnet.h"

#include <string>

#include "src/core/error.h"
#include "src/nn/attention.h"
#include "src/nn/autograd_records.h"

namespace vlprompt::models {
namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

torch::nn::BatchNorm2d batch_norm(int64_t channels) {
  return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels).eps(1e-5));
}

// Running statistics always: the tower is frozen, whatever train() says.
at::Tensor frozen_bn(const torch::nn::BatchNorm2d& bn, const at::Tensor& x) {
  return at::batch_norm(x, bn->weight, bn->bias, bn->running_mean, bn->running_var,
                        /*training=*/false, /*momentum=*/0.0, bn->options.eps(),
                        /*cudnn_enabled=*/true);
}

// conv then frozen BN. Without a graph to record, the BN's per-channel scale and shift are folded
// into the convolution's weights and bias (a pass over the small weights instead of two over the
// activations: BN was 14% of an RN50 forward).
at::Tensor conv_bn(const torch::nn::Conv2d& conv, const torch::nn::BatchNorm2d& bn,
                   const at::Tensor& x) {
  const auto& o = conv->options;
  const auto& padding = c10::get<torch::ExpandingArray<2>>(o.padding());
  if (nn::autograd_records({x, conv->weight, bn->weight, bn->bias})) {
    return frozen_bn(
        bn, at::conv2d(x, conv->weight, {}, *o.stride(), *padding, *o.dilation(), o.groups()));
  }
  const at::Tensor scale = bn->weight * at::rsqrt(bn->running_var + bn->options.eps());
  const at::Tensor weight = conv->weight * scale.view({-1, 1, 1, 1});
  const at::Tensor bias = bn->bias - bn->running_mean * scale;
  return at::conv2d(x, weight, bias, *o.stride(), *padding, *o.dilation(), o.groups());
}

// ReLU in place on a tensor this code just made, unless autograd needs the original.
at::Tensor relu_fresh(at::Tensor x) {
  if (nn::autograd_records({x})) return at::relu(x);
  return x.relu_();
}

}  // namespace

DownsampleImpl::DownsampleImpl(int64_t in_channels, int64_t out_channels, int64_t stride)
    : stride_(stride) {
  conv = register_module("0", models::conv(in_channels, out_channels, 1));
  bn = register_module("1", batch_norm(out_channels));
}

at::Tensor DownsampleImpl::forward(const at::Tensor& x) {
  at::Tensor pooled = stride_ > 1 ? at::avg_pool2d(x, {stride_, stride_}) : x;
  return conv_bn(conv, bn, pooled);
}

BottleneckImpl::BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride) : stride_(stride) {
  conv1 = register_module("conv1", conv(inplanes, planes, 1));
  bn1 = register_module("bn1", batch_norm(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3));
  bn2 = register_module("bn2", batch_norm(planes));
  conv3 = register_module("conv3", conv(planes, planes * kExpansion, 1));
  bn3 = register_module("bn3", batch_norm(planes * kExpansion));
  if (stride > 1 || inplanes != planes * kExpansion) {
    downsample = register_module("downsample", Downsample(inplanes, planes * kExpansion, stride));
  }
}

at::Tensor BottleneckImpl::forward(const at::Tensor& x) {
  at::Tensor out = relu_fresh(conv_bn(conv1, bn1, x));
  out = relu_fresh(conv_bn(conv2, bn2, out));
  if (stride_ > 1) out = at::avg_pool2d(out, {stride_, stride_});
  out = conv_bn(conv3, bn3, out);
  const at::Tensor identity = downsample ? downsample->forward(x) : x;
  if (nn::autograd_records({out, identity})) {
    return at::relu(out + identity);
  }
  return out.add_(identity).relu_();
}

AttentionPool2dImpl::AttentionPool2dImpl(int64_t spacial_dim, int64_t embed_dim, int64_t heads,
                                         int64_t output_dim)
    : heads_(heads) {
  if (heads <= 0 || embed_dim % heads != 0) {
    throw Error("attnpool: width " + std::to_string(embed_dim) + " is not divisible by heads " +
                std::to_string(heads));
  }
  positional_embedding = register_parameter("positional_embedding",
                                            at::zeros({spacial_dim * spacial_dim + 1, embed_dim}));
  k_proj = register_module("k_proj", torch::nn::Linear(embed_dim, embed_dim));
  q_proj = register_module("q_proj", torch::nn::Linear(embed_dim, embed_dim));
  v_proj = register_module("v_proj", torch::nn::Linear(embed_dim, embed_dim));
  c_proj = register_module("c_proj", torch::nn::Linear(embed_dim, output_dim));
}

at::Tensor AttentionPool2dImpl::forward(const at::Tensor& x) {
  const int64_t batch = x.size(0), channels = x.size(1), head_dim = channels / heads_;
  at::Tensor tokens = x.flatten(2).transpose(1, 2);  // [B, S^2, C]
  tokens = at::cat({tokens.mean(1, /*keepdim=*/true), tokens}, 1) + positional_embedding;
  // at::linear, not Linear::forward: the latter skips the fused GEMM + bias for 3-d input.
  auto project = [](const torch::nn::Linear& l, const at::Tensor& t) {
    return at::linear(t, l->weight, l->bias);
  };
  auto heads = [&](const at::Tensor& t) {  // [B, N, C] -> [B, H, N, hd]
    return t.view({batch, t.size(1), heads_, head_dim}).transpose(1, 2);
  };
  at::Tensor q = heads(project(q_proj, tokens.narrow(1, 0, 1)));
  at::Tensor k = heads(project(k_proj, tokens));
  at::Tensor v = heads(project(v_proj, tokens));
  at::Tensor out = nn::scaled_dot_product_attention(q, k, v, at::Tensor());
  return project(c_proj, out.reshape({batch, channels}));
}

ModifiedResNetImpl::ModifiedResNetImpl(const VisionConfig& config, int64_t output_dim)
    : config_(config) {
  const int64_t width = config.width;
  if (config.resnet_layers.size() != 4) {
    throw Error("vision: modified_resnet needs 4 stage depths in 'layers', got " +
                std::to_string(config.resnet_layers.size()));
  }
  if (config.image_resolution % 32 != 0) {
    throw Error("vision: modified_resnet image_resolution " +
                std::to_string(config.image_resolution) + " is not a multiple of 32");
  }
  conv1 = register_module("conv1", conv(3, width / 2, 3, 2));
  bn1 = register_module("bn1", batch_norm(width / 2));
  conv2 = register_module("conv2", conv(width / 2, width / 2, 3));
  bn2 = register_module("bn2", batch_norm(width / 2));
  conv3 = register_module("conv3", conv(width / 2, width, 3));
  bn3 = register_module("bn3", batch_norm(width));
  int64_t inplanes = width;
  for (int64_t s = 0; s < 4; ++s) {
    const int64_t planes = width << s;
    torch::nn::ModuleList stage;
    for (int64_t b = 0; b < config.resnet_layers[s]; ++b) {
      stage->push_back(Bottleneck(inplanes, planes, b == 0 && s > 0 ? 2 : 1));
      inplanes = planes * BottleneckImpl::kExpansion;
    }
    stages.push_back(register_module("layer" + std::to_string(s + 1), stage));
  }
  attnpool = register_module("attnpool", AttentionPool2d(config.image_resolution / 32, width * 32,
                                                         config.heads, output_dim));
}

at::Tensor ModifiedResNetImpl::forward(const at::Tensor& pixels) {
  const int64_t res = config_.image_resolution;
  if (pixels.dim() != 4 || pixels.size(1) != 3 || pixels.size(2) != res || pixels.size(3) != res) {
    throw Error("encode_image: expected pixels [B, 3, " + std::to_string(res) + ", " +
                std::to_string(res) + "], got " + c10::str(pixels.sizes()));
  }
  at::Tensor x = pixels.to(conv1->weight.dtype());
  x = relu_fresh(conv_bn(conv1, bn1, x));
  x = relu_fresh(conv_bn(conv2, bn2, x));
  x = relu_fresh(conv_bn(conv3, bn3, x));
  x = at::avg_pool2d(x, {2, 2});
  for (auto& stage : stages) {
    for (const auto& block : *stage) x = block->as<BottleneckImpl>()->forward(x);
  }
  return attnpool->forward(x);
}

}  // namespace vlprompt::models
