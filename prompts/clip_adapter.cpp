#include "prompts/clip_adapter.h"

#include <ATen/CPUGeneratorImpl.h>

#include "prompts/registry.h"
#include "prompts/seeded_linear.h"
#include "src/core/error.h"

namespace vlprompt::prompts {

ClipAdapterImpl::ClipAdapterImpl(ClipAdapterOptions options, const models::Clip& clip)
    : Delta("clip_adapter"), options_(std::move(options)) {
  if (!clip) throw Error("clip_adapter: no CLIP model given");
  const int64_t d = clip->config().embed_dim, r = options_.reduction();
  if (r < 1 || r > d) {
    throw Error("clip_adapter.reduction is " + std::to_string(r) + ", expected 1 to " +
                std::to_string(d) + " (the feature width)");
  }
  if (options_.ratio() < 0 || options_.ratio() > 1) {
    throw Error("clip_adapter.ratio is " + std::to_string(options_.ratio()) + ", expected 0 to 1");
  }
  // The reference's c_in // reduction.
  const int64_t hidden = d / r;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed());
  down =
      register_module("down", torch::nn::Linear(torch::nn::LinearOptions(d, hidden).bias(false)));
  up = register_module("up", torch::nn::Linear(torch::nn::LinearOptions(hidden, d).bias(false)));
  reset_linear(down, generator);
  reset_linear(up, generator);
  to(models::weights_device(clip));
  provide<delta::ImageFeatureMap>(this);
}

at::Tensor ClipAdapterImpl::map_features(const at::Tensor& features) {
  const at::Tensor f = features.to(down->weight.scalar_type());
  const at::Tensor x = at::relu(at::linear(at::relu(at::linear(f, down->weight)), up->weight));
  // The reference blends before normalising; CLIP's logits normalise the result.
  return options_.ratio() * x + (1 - options_.ratio()) * f;
}

std::map<std::string, std::string> ClipAdapterImpl::hyperparameters() const {
  return core::to_strings(options_);
}

namespace {

std::shared_ptr<delta::Delta> make_clip_adapter(const core::ResolvedConfig& config,
                                                const std::string& section,
                                                const MethodContext& context) {
  return ClipAdapter(read_delta_options<ClipAdapterOptions>(config, section, context.seed),
                     context.clip)
      .ptr();
}

}  // namespace

VLPROMPT_DELTA(clip_adapter,
               "CLIP-Adapter: a residual bottleneck MLP on the frozen image feature, classified by "
               "the hand-written prompts",
               make_clip_adapter, ClipAdapterOptions);

}  // namespace vlprompt::prompts
