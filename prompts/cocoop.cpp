#include "prompts/cocoop.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <functional>

#include "prompts/coop_layout.h"
#include "prompts/kgcoop.h"
#include "prompts/registry.h"
#include "prompts/seeded_linear.h"
#include "src/core/error.h"

namespace vlprompt::prompts {

class CoCoOpTextSites : public nn::DeltaSites {
 public:
  explicit CoCoOpTextSites(CoCoOpImpl& cocoop) : cocoop_(cocoop) {}
  void bind(const delta::SiteContext& context) { context_ = &context; }

  at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor& token_ids) override {
    const delta::SiteContext& c = *context_;
    if (!c.prompt_rows.defined() || !c.image_rows.defined() || !c.image_features.defined()) {
      throw Error(
          "cocoop: its prompts are conditioned on an image; the text tower was run "
          "without image features and (image, class) rows in the site context");
    }
    if (c.prompt_rows.numel() != tokens.size(0) || c.image_rows.numel() != tokens.size(0)) {
      throw Error("cocoop: the text tower ran on " + std::to_string(tokens.size(0)) +
                  " rows but the site context names " + std::to_string(c.prompt_rows.numel()) +
                  " prompt rows and " + std::to_string(c.image_rows.numel()) + " image rows");
    }
    // One bias per image, then per row: the meta-net runs on N images, not on N x C rows.
    const at::Tensor image = c.image_features.to(cocoop_.ctx.scalar_type());
    const at::Tensor bias = cocoop_.meta_net->forward(image / image.norm(2, -1, true));
    const at::Tensor shifted =
        cocoop_.ctx.unsqueeze(0) + bias.index_select(0, c.image_rows).unsqueeze(1);
    return write_context(tokens, shifted.reshape({-1, tokens.size(2)}),
                         cocoop_.ctx_cols_.index_select(0, c.prompt_rows));
  }

  // The rows of one image share ctx + its bias in columns 1..n_ctx; the class tokens come after
  // them (CoCoOp's layout is always "end"), where the ids decide.
  nn::SharedPrefix shared_prefix() const override {
    return {nn::SharedPrefix::kUnlimited, context_ ? context_->image_rows : at::Tensor()};
  }

 private:
  CoCoOpImpl& cocoop_;
  const delta::SiteContext* context_ = nullptr;
};

MetaNetImpl::MetaNetImpl(int64_t in, int64_t hidden, int64_t out) {
  linear1 = register_module("linear1", torch::nn::Linear(in, hidden));
  linear2 = register_module("linear2", torch::nn::Linear(hidden, out));
}

at::Tensor MetaNetImpl::forward(const at::Tensor& x) {
  return linear2->forward(at::relu(linear1->forward(x)));
}

CoCoOpImpl::CoCoOpImpl(CoCoOpOptions options, models::Clip clip,
                       std::shared_ptr<const text::ClipTokenizer> tokenizer,
                       const std::vector<std::string>& classnames)
    : Delta("cocoop"),
      options_(std::move(options)),
      clip_(std::move(clip)),
      tokenizer_(std::move(tokenizer)),
      text_sites_(std::make_unique<CoCoOpTextSites>(*this)) {
  provide<delta::ClassPrompts>(this);
  provide<delta::ImageConditioned>(this);
  if (options_.kg_weight() != 0) provide<delta::LossTerm>(this);
  if (!clip_ || !tokenizer_) throw Error("cocoop: needs a CLIP model and a tokenizer");
  if (classnames.empty()) throw Error("cocoop: the class list is empty");
  const auto& config = clip_->config();
  const at::Device device = models::weights_device(clip_);
  ContextStart start = context_start("cocoop", options_.ctx_init(), options_.n_ctx(),
                                     options_.init_std(), options_.seed(), 0, clip_, *tokenizer_);
  options_.ctx_init(options_.ctx_init().empty() ? "" : start.prefix_text);
  options_.n_ctx(start.n_ctx);
  prefix_text_ = start.prefix_text;
  // The meta-net draws from its own stream of the delta's seed.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed() + 1);
  ctx = register_parameter("ctx", start.vectors);
  const int64_t vis = config.embed_dim;  // the meta-net reads the projected image feature
  meta_net =
      register_module("meta_net", MetaNet(vis, std::max<int64_t>(1, vis / 16), config.text.width));
  reset_linear(meta_net->linear1, generator);
  reset_linear(meta_net->linear2, generator);
  meta_net->to(device);
  const int64_t context = config.text.context_length;
  token_ids_ = register_buffer("token_ids", at::zeros({1, context}, at::kLong).to(device));
  ctx_cols_ = register_buffer("ctx_cols", at::zeros({1, 1}, at::kLong).to(device));
  set_classnames(classnames);
}

CoCoOpImpl::~CoCoOpImpl() = default;

void CoCoOpImpl::set_classnames(const std::vector<std::string>& classnames) {
  const CoOpLayout layout = coop_layout(*tokenizer_, prefix_text_, options_.n_ctx(), classnames,
                                        "end", clip_->config().text.context_length);
  at::NoGradGuard no_grad;
  const at::Device device = token_ids_.device();
  token_ids_.set_(layout.token_ids.to(device));
  ctx_cols_.set_(layout.cols.view({static_cast<int64_t>(classnames.size()), -1}).to(device));
}

nn::DeltaSites* CoCoOpImpl::sites(delta::Tower tower, const delta::SiteContext& context) {
  if (tower != delta::Tower::kText) return nullptr;
  text_sites_->bind(context);
  return text_sites_.get();
}

std::map<std::string, std::string> CoCoOpImpl::hyperparameters() const {
  return core::to_strings(options_);
}

at::Tensor CoCoOpImpl::loss_term(const delta::LossContext& context) {
  if (options_.kg_weight() == 0) return {};
  return knowledge_guidance_term(options_.kg_weight(), context.text_features,
                                 context.manual_text_features());
}

namespace {

std::shared_ptr<delta::Delta> make_cocoop(const core::ResolvedConfig& config,
                                          const std::string& section,
                                          const MethodContext& context) {
  return CoCoOp(read_delta_options<CoCoOpOptions>(config, section, context.seed), context.clip,
                context.tokenizer, context.classnames)
      .ptr();
}

}  // namespace

VLPROMPT_DELTA(cocoop,
               "CoCoOp: CoOp's context shifted per image by a meta-net (Zhou et al., CVPR 2022)",
               make_cocoop, CoCoOpOptions);

}  // namespace vlprompt::prompts
