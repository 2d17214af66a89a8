#include "prompts/side_tuning.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "prompts/registry.h"
#include "prompts/seeded_linear.h"
#include "src/core/error.h"

namespace vlprompt::prompts {
namespace {

// nn.Conv2d's reset_parameters: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from the
// delta's own generator.
void reset_conv(torch::nn::Conv2d& conv, at::Generator& generator) {
  at::NoGradGuard no_grad;
  const double fan_in = static_cast<double>(conv->weight[0].numel());
  const double bound = 1.0 / std::sqrt(fan_in);
  conv->weight.uniform_(-bound, bound, generator);
  conv->bias.uniform_(-bound, bound, generator);
}

}  // namespace

SideTuningImpl::SideTuningImpl(SideTuningOptions options, const models::Clip& clip)
    : Delta("side"), options_(std::move(options)) {
  if (!clip) throw Error("side: no CLIP model given");
  const int64_t c = options_.channels();
  if (c < 1) throw Error("side.channels is " + std::to_string(c) + ", expected >= 1");
  if (clip->config().vision.image_resolution < 16) {
    throw Error("side: images of " + std::to_string(clip->config().vision.image_resolution) +
                " px are too small for the side network's two stride-4 convolutions");
  }
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed());
  conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, c, 4).stride(4)));
  conv2 =
      register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(c, 2 * c, 4).stride(4)));
  out = register_module("out", torch::nn::Linear(2 * c, clip->config().embed_dim));
  reset_conv(conv1, generator);
  reset_conv(conv2, generator);
  reset_linear(out, generator);
  alpha_logit = register_parameter("alpha_logit", at::zeros({1}));
  to(models::weights_device(clip));
  provide<delta::ImageFeatureBlend>(this);
}

at::Tensor SideTuningImpl::blend(const at::Tensor& pixels, const at::Tensor& tower_features) {
  at::Tensor x = at::relu(conv1->forward(pixels.to(conv1->weight.scalar_type())));
  x = at::relu(conv2->forward(x)).mean({2, 3});
  const at::Tensor side = out->forward(x);
  const at::Tensor a = at::sigmoid(alpha_logit);
  return a * tower_features.to(side.scalar_type()) + (1 - a) * side;
}

std::map<std::string, std::string> SideTuningImpl::hyperparameters() const {
  return core::to_strings(options_);
}

namespace {

std::shared_ptr<delta::Delta> make_side(const core::ResolvedConfig& config,
                                        const std::string& section, const MethodContext& context) {
  return SideTuning(read_delta_options<SideTuningOptions>(config, section, context.seed),
                    context.clip)
      .ptr();
}

}  // namespace

VLPROMPT_DELTA(side,
               "Side-tuning: a side network's feature blended with the frozen one (VPT's baseline)",
               make_side, SideTuningOptions);

}  // namespace vlprompt::prompts
