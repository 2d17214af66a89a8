#include "prompts/vpt.h"

#include <ATen/CPUGeneratorImpl.h>

#include "prompts/coop_layout.h"
#include "prompts/registry.h"
#include "prompts/seeded_linear.h"
#include "src/core/error.h"

namespace vlprompt::prompts {

class VptImageSites : public nn::DeltaSites {
 public:
  explicit VptImageSites(VptImpl& vpt) : vpt_(vpt) {}

  // [B, 1 + P, W] -> [B, 1 + n_ctx + P, W]: the prompts right after the class token.
  at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor&) override {
    return at::cat({tokens.slice(1, 0, 1), layer_prompts(0, tokens), tokens.slice(1, 1)}, 1);
  }

  // Before layer l < depth, the previous prompt outputs give way to layer l's own tokens.
  at::Tensor layer_tokens(int64_t layer, const at::Tensor& x) override {
    if (layer == 0 || layer >= vpt_.prompts.size(0)) return x;
    const int64_t n = vpt_.options_.n_ctx();
    return at::cat({x.slice(1, 0, 1), layer_prompts(layer, x), x.slice(1, 1 + n)}, 1);
  }

 private:
  at::Tensor layer_prompts(int64_t layer, const at::Tensor& like) {
    at::Tensor p = vpt_.prompts[layer];
    if (vpt_.options_.dropout() > 0)
      p = at::dropout(p, vpt_.options_.dropout(), vpt_.is_training());
    return p.to(like.scalar_type()).unsqueeze(0).expand({like.size(0), p.size(0), p.size(1)});
  }

  VptImpl& vpt_;
};

VptImpl::VptImpl(VptOptions options, const models::Clip& clip,
                 const std::vector<std::string>& classnames)
    : Delta("vpt"),
      options_(std::move(options)),
      classnames_(classnames),
      image_sites_(std::make_unique<VptImageSites>(*this)) {
  if (!clip) throw Error("vpt: no CLIP model given");
  const auto& vision = clip->config().vision;
  if (options_.n_ctx() < 1) {
    throw Error("vpt: n_ctx is " + std::to_string(options_.n_ctx()) + ", expected >= 1");
  }
  check_visual_tokens("vpt.n_ctx", options_.n_ctx());
  if (options_.deep() && options_.depth() < 1) {
    throw Error("vpt: depth is " + std::to_string(options_.depth()) + ", expected >= 1");
  }
  if (!(options_.dropout() >= 0 && options_.dropout() < 1)) {
    throw Error("vpt: dropout is " + c10::str(options_.dropout()) + ", expected in [0, 1)");
  }
  if (!(options_.init_std() > 0)) {
    throw Error("vpt: init_std is " + c10::str(options_.init_std()) + ", expected > 0");
  }
  if (options_.head() != "text" && options_.head() != "linear") {
    throw Error("vpt: head is '" + options_.head() + "', expected text or linear");
  }
  if (options_.head() == "linear" && classnames_.empty()) {
    throw Error("vpt: a linear head needs the class list");
  }
  options_.depth(options_.deep() ? std::min(options_.depth(), vision.layers) : 1);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed());
  prompts = register_parameter(
      "prompts", at::empty({options_.depth(), options_.n_ctx(), vision.width}, at::kFloat)
                     .normal_(0.0, options_.init_std(), generator)
                     .to(models::weights_device(clip)));
  if (options_.head() == "linear") {
    // Its own stream of the seed, so the prompts start as they do with the text head.
    auto head_generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed() + 1);
    head = register_module("head", torch::nn::Linear(clip->config().embed_dim,
                                                     static_cast<int64_t>(classnames_.size())));
    reset_linear(head, head_generator);
    provide<delta::ClassHead>(this);
    head->to(models::weights_device(clip));
  }
}

at::Tensor VptImpl::head_logits(const at::Tensor& image_features) {
  if (head.is_empty()) throw Error("vpt: head is text; it has no classifier head of its own");
  return head->forward(image_features.to(head->weight.scalar_type()));
}

void VptImpl::set_classnames(const std::vector<std::string>& classnames) {
  if (head.is_empty() || classnames == classnames_) return;
  auto list = [](const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return std::to_string(names.size()) + " classes (" + out + ")";
  };
  throw Error("vpt: its linear head was trained on " + list(classnames_) + " and cannot classify " +
              list(classnames) + "; a VPT delta with head: text transfers to other class lists");
}

VptImpl::~VptImpl() = default;

nn::DeltaSites* VptImpl::sites(delta::Tower tower, const delta::SiteContext&) {
  return tower == delta::Tower::kImage ? image_sites_.get() : nullptr;
}

std::map<std::string, std::string> VptImpl::hyperparameters() const {
  return core::to_strings(options_);
}

namespace {

std::shared_ptr<delta::Delta> make_vpt(const core::ResolvedConfig& config,
                                       const std::string& section, const MethodContext& context) {
  return Vpt(read_delta_options<VptOptions>(config, section, context.seed), context.clip,
             context.classnames)
      .ptr();
}

}  // namespace

VLPROMPT_DELTA(vpt,
               "VPT: learned tokens in the image tower, shallow or deep (Jia et al., ECCV 2022)",
               make_vpt, VptOptions);

}  // namespace vlprompt::prompts
