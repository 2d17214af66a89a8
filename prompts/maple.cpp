#include "prompts/maple.h"

#include <ATen/CPUGeneratorImpl.h>

#include "prompts/registry.h"
#include "prompts/seeded_linear.h"
#include "src/core/error.h"

namespace vlprompt::prompts {

MapleImpl::MapleImpl(MapleOptions options, models::Clip clip,
                     std::shared_ptr<const text::ClipTokenizer> tokenizer,
                     const std::vector<std::string>& classnames)
    : DeepVlPromptDelta("maple", std::move(clip), std::move(tokenizer), options.half_round()),
      options_(std::move(options)) {
  const auto& config = clip_->config();
  options_.depth(prompt_depth("maple", "depth", options_.depth(),
                              std::min(config.text.layers, config.vision.layers)));
  const at::Device device = models::weights_device(clip_);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed());
  DeepTextContext start = deep_text_context("maple", options_.ctx_init(), options_.n_ctx(),
                                            options_.init_std(), generator, clip_, *tokenizer_);
  if (options_.n_ctx() > 4) options_.ctx_init("");  // the words were not used
  const int64_t text_width = config.text.width, image_width = config.vision.width;
  ctx = register_parameter("ctx", start.vectors);
  proj = register_module("proj", torch::nn::Linear(text_width, image_width));
  reset_linear(proj, generator);
  compound_prompts_text = register_module("compound_prompts_text", torch::nn::ParameterList());
  for (int64_t i = 0; i + 1 < options_.depth(); ++i) {
    compound_prompts_text->append(at::empty({options_.n_ctx(), text_width}, at::kFloat)
                                      .normal_(0.0, options_.init_std(), generator)
                                      .requires_grad_());  // append() keeps the tensor's flag
  }
  // The official code clones one initialised layer, so every projection starts the same.
  torch::nn::Linear first(text_width, image_width);
  reset_linear(first, generator);
  compound_prompt_projections =
      register_module("compound_prompt_projections", torch::nn::ModuleList());
  for (int64_t i = 0; i + 1 < options_.depth(); ++i) {
    compound_prompt_projections->push_back(
        std::dynamic_pointer_cast<torch::nn::LinearImpl>(first->clone()));
  }
  proj->to(device);
  compound_prompts_text->to(device);
  compound_prompt_projections->to(device);
  lay_out(start.prefix_text, classnames);
}

nn::DeltaSites* MapleImpl::sites(delta::Tower tower, const delta::SiteContext&) {
  const int64_t deep = options_.depth() - 1;
  std::vector<at::Tensor> layers;
  if (tower == delta::Tower::kText) {
    layers.push_back(ctx);
    for (int64_t i = 0; i < deep; ++i) layers.push_back(compound_prompts_text[i]);
    return bind(tower, std::move(layers));
  }
  layers.push_back(proj->forward(ctx));
  for (int64_t i = 0; i < deep; ++i) {
    layers.push_back(compound_prompt_projections[i]->as<torch::nn::LinearImpl>()->forward(
        compound_prompts_text[i]));
  }
  return bind(tower, std::move(layers));
}

std::map<std::string, std::string> MapleImpl::hyperparameters() const {
  return core::to_strings(options_);
}

namespace {

std::shared_ptr<delta::Delta> make_maple(const core::ResolvedConfig& config,
                                         const std::string& section, const MethodContext& context) {
  return Maple(read_delta_options<MapleOptions>(config, section, context.seed), context.clip,
               context.tokenizer, context.classnames)
      .ptr();
}

}  // namespace

VLPROMPT_DELTA(maple,
               "MaPLe: deep prompts in both towers, the image's projected from the text's "
               "(Khattak et al., CVPR 2023)",
               make_maple, MapleOptions);

}  // namespace vlprompt::prompts
