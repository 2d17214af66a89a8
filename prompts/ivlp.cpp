#include "prompts/ivlp.h"

#include <ATen/CPUGeneratorImpl.h>

#include "prompts/coop_layout.h"
#include "prompts/registry.h"
#include "src/core/error.h"

namespace vlprompt::prompts {
namespace {

torch::nn::ParameterList normal_prompts(int64_t count, int64_t n, int64_t width, double std,
                                        at::Generator& generator, at::Device device) {
  torch::nn::ParameterList list;
  for (int64_t i = 0; i < count; ++i) {
    // append() keeps the tensor's requires_grad flag.
    list->append(
        at::empty({n, width}, at::kFloat).normal_(0.0, std, generator).to(device).requires_grad_());
  }
  return list;
}

}  // namespace

IvlpImpl::IvlpImpl(IvlpOptions options, models::Clip clip,
                   std::shared_ptr<const text::ClipTokenizer> tokenizer,
                   const std::vector<std::string>& classnames)
    : DeepVlPromptDelta("ivlp", std::move(clip), std::move(tokenizer), options.half_round()),
      options_(std::move(options)) {
  if (options_.n_ctx_vision() < 1) {
    throw Error("ivlp: n_ctx_vision is " + std::to_string(options_.n_ctx_vision()) +
                ", expected >= 1");
  }
  check_visual_tokens("ivlp.n_ctx_vision", options_.n_ctx_vision());
  const auto& config = clip_->config();
  options_.depth_text(
      prompt_depth("ivlp", "depth_text", options_.depth_text(), config.text.layers));
  options_.depth_vision(
      prompt_depth("ivlp", "depth_vision", options_.depth_vision(), config.vision.layers));
  const at::Device device = models::weights_device(clip_);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed());
  DeepTextContext start = deep_text_context("ivlp", options_.ctx_init(), options_.n_ctx_text(),
                                            options_.init_std(), generator, clip_, *tokenizer_);
  if (options_.n_ctx_text() > 4) options_.ctx_init("");  // the words were not used
  ctx = register_parameter("ctx", start.vectors);
  visual_ctx = register_parameter(
      "visual_ctx", at::empty({options_.n_ctx_vision(), config.vision.width}, at::kFloat)
                        .normal_(0.0, options_.init_std(), generator)
                        .to(device));
  text_deep = register_module(
      "text_deep", normal_prompts(options_.depth_text() - 1, options_.n_ctx_text(),
                                  config.text.width, options_.init_std(), generator, device));
  visual_deep = register_module(
      "visual_deep", normal_prompts(options_.depth_vision() - 1, options_.n_ctx_vision(),
                                    config.vision.width, options_.init_std(), generator, device));
  lay_out(start.prefix_text, classnames);
}

nn::DeltaSites* IvlpImpl::sites(delta::Tower tower, const delta::SiteContext&) {
  const bool text = tower == delta::Tower::kText;
  std::vector<at::Tensor> layers{text ? ctx : visual_ctx};
  for (const auto& p : (text ? text_deep : visual_deep)->parameters()) layers.push_back(p);
  return bind(tower, std::move(layers));
}

std::map<std::string, std::string> IvlpImpl::hyperparameters() const {
  return core::to_strings(options_);
}

namespace {

std::shared_ptr<delta::Delta> make_ivlp(const core::ResolvedConfig& config,
                                        const std::string& section, const MethodContext& context) {
  return Ivlp(read_delta_options<IvlpOptions>(config, section, context.seed), context.clip,
              context.tokenizer, context.classnames)
      .ptr();
}

}  // namespace

VLPROMPT_DELTA(ivlp,
               "IVLP: independent deep prompts in the text and image towers (Khattak et al., "
               "CVPR 2023 baseline)",
               make_ivlp, IvlpOptions);

}  // namespace vlprompt::prompts
