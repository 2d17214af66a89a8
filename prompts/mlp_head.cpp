#include "prompts/mlp_head.h"

#include <ATen/CPUGeneratorImpl.h>

#include "prompts/registry.h"
#include "prompts/seeded_linear.h"
#include "src/core/error.h"

namespace vlprompt::prompts {

MlpHeadImpl::MlpHeadImpl(MlpHeadOptions options, const models::Clip& clip,
                         const std::vector<std::string>& classnames)
    : Delta("mlp_head"), options_(std::move(options)), classnames_(classnames) {
  if (!clip) throw Error("mlp_head: no CLIP model given");
  if (options_.k() < 1) {
    throw Error("mlp_head.k is " + std::to_string(options_.k()) + ", expected >= 1");
  }
  if (options_.hidden() < 0) {
    throw Error("mlp_head.hidden is " + std::to_string(options_.hidden()) +
                ", expected >= 1 (or 0 for the image feature's width)");
  }
  if (classnames_.empty()) throw Error("mlp_head: the head needs the class list");
  const int64_t in = clip->config().embed_dim;
  const int64_t hidden = options_.hidden() > 0 ? options_.hidden() : in;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed());
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < options_.k(); ++i) {
    const int64_t from = i == 0 ? in : hidden;
    const int64_t to = i + 1 == options_.k() ? static_cast<int64_t>(classnames_.size()) : hidden;
    torch::nn::Linear linear(from, to);
    reset_linear(linear, generator);
    layers->push_back(linear);
  }
  to(models::weights_device(clip));
  provide<delta::ClassHead>(this);
}

at::Tensor MlpHeadImpl::head_logits(const at::Tensor& image_features) {
  at::Tensor x = image_features;
  for (size_t i = 0; i < layers->size(); ++i) {
    auto* linear = layers[i]->as<torch::nn::LinearImpl>();
    x = at::linear(x.to(linear->weight.scalar_type()), linear->weight, linear->bias);
    if (i + 1 < layers->size()) x = at::relu(x);
  }
  return x;
}

void MlpHeadImpl::set_classnames(const std::vector<std::string>& classnames) {
  if (classnames == classnames_) return;
  throw Error("mlp_head: its head was trained on " + std::to_string(classnames_.size()) +
              " classes and cannot classify another list of " + std::to_string(classnames.size()) +
              "; an MLP head is tied to its classes");
}

std::map<std::string, std::string> MlpHeadImpl::hyperparameters() const {
  return core::to_strings(options_);
}

namespace {

std::shared_ptr<delta::Delta> make_mlp_head(const core::ResolvedConfig& config,
                                            const std::string& section,
                                            const MethodContext& context) {
  return MlpHead(read_delta_options<MlpHeadOptions>(config, section, context.seed), context.clip,
                 context.classnames)
      .ptr();
}

}  // namespace

VLPROMPT_DELTA(mlp_head, "MLP-k: a k-layer MLP head on the frozen image feature (VPT's baseline)",
               make_mlp_head, MlpHeadOptions);

}  // namespace vlprompt::prompts
