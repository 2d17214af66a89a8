#include "prompts/l2p.h"

#include <ATen/CPUGeneratorImpl.h>

#include "prompts/coop_layout.h"
#include "prompts/l2p_pool.h"
#include "prompts/registry.h"
#include "prompts/seeded_linear.h"
#include "src/core/error.h"

namespace vlprompt::prompts {

class L2pImageSites : public nn::DeltaSites {
 public:
  explicit L2pImageSites(L2pImpl& l2p) : l2p_(l2p) {}

  void set_query(const at::Tensor& query) { query_ = query; }

  // [B, 1 + P, W] -> [B, 1 + top_k * length + P, W]: the chosen prompts after the class token.
  at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor&) override {
    if (!query_.defined() || query_.size(0) != tokens.size(0)) {
      throw Error(
          "l2p: its prompts are chosen per image from the frozen tower's features of the same "
          "images (the query), and none were given for this batch of " +
          std::to_string(tokens.size(0)) + " images");
    }
    const L2pOptions& o = l2p_.options_;
    const bool training = l2p_.is_training();
    const l2p::PromptSelection s = l2p::select_prompts(query_.to(tokens.device()), l2p_.prompt_key,
                                                       o.top_k(), training && o.batchwise_prompt());
    if (training) {
      l2p_.last_reduce_sim_ = s.reduce_sim;
      l2p_.usage_ += at::bincount(s.ids.view(-1).cpu(), {}, o.pool_size());
    }
    const at::Tensor prompts =
        l2p::gather_prompts(l2p_.prompt, s.ids) +
        l2p_.class_position_.to(l2p_.prompt.device(), l2p_.prompt.scalar_type());
    query_ = at::Tensor();  // one query per pass: a stale one must never choose
    return at::cat({tokens.slice(1, 0, 1), prompts.to(tokens.scalar_type()), tokens.slice(1, 1)},
                   1);
  }

  std::optional<std::pair<int64_t, int64_t>> readout_span() const override {
    if (l2p_.options_.readout() == "token") return std::nullopt;
    return std::make_pair(int64_t{1}, l2p_.options_.top_k() * l2p_.options_.length());
  }

 private:
  L2pImpl& l2p_;
  at::Tensor query_;
};

L2pImpl::L2pImpl(L2pOptions options, const models::Clip& clip,
                 const std::vector<std::string>& classnames)
    : Delta("l2p"),
      options_(std::move(options)),
      classnames_(classnames),
      image_sites_(std::make_unique<L2pImageSites>(*this)) {
  if (!clip) throw Error("l2p: no CLIP model given");
  if (clip->config().vision.type != "vit") {
    throw Error("l2p: its prompts are tokens of a ViT image tower; " + clip->config().name +
                " has a " + clip->config().vision.type + " image tower");
  }
  const auto positive = [](const char* key, int64_t v) {
    if (v < 1)
      throw Error(std::string("l2p: ") + key + " is " + std::to_string(v) + ", expected >= 1");
  };
  positive("pool_size", options_.pool_size());
  positive("length", options_.length());
  positive("top_k", options_.top_k());
  if (options_.top_k() > options_.pool_size()) {
    throw Error("l2p: top_k is " + std::to_string(options_.top_k()) + ", more than the pool's " +
                std::to_string(options_.pool_size()) + " prompts");
  }
  check_visual_tokens("l2p.top_k * l2p.length", options_.top_k() * options_.length());
  if (!(options_.pull_constraint() >= 0)) {
    throw Error("l2p: pull_constraint is " + c10::str(options_.pull_constraint()) +
                ", expected >= 0");
  }
  if (options_.head() != "linear" && options_.head() != "text") {
    throw Error("l2p: head is '" + options_.head() + "', expected linear or text");
  }
  if (options_.readout() != "prompt" && options_.readout() != "token") {
    throw Error("l2p: readout is '" + options_.readout() + "', expected prompt or token");
  }
  if (options_.head() == "linear" && classnames_.empty()) {
    throw Error("l2p: a linear head needs the class list");
  }
  const int64_t width = clip->config().vision.width, embed = clip->config().embed_dim;
  const at::Device device = models::weights_device(clip);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed());
  prompt = register_parameter(
      "prompt", at::empty({options_.pool_size(), options_.length(), width}, at::kFloat)
                    .uniform_(-1, 1, generator)
                    .to(device));
  prompt_key = register_parameter(
      "prompt_key",
      at::empty({options_.pool_size(), embed}, at::kFloat).uniform_(-1, 1, generator).to(device));
  if (options_.head() == "linear") {
    auto head_generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed() + 1);
    head =
        register_module("head", torch::nn::Linear(embed, static_cast<int64_t>(classnames_.size())));
    reset_linear(head, head_generator);
    head->to(device);
    provide<delta::ClassHead>(this);
  }
  provide<delta::LossTerm>(this);
  provide<delta::ImageQuery>(this);
  class_position_ = clip->weights().at("visual.positional_embedding")[0].detach().clone();
  usage_ = at::zeros({options_.pool_size()}, at::kLong);
}

L2pImpl::~L2pImpl() = default;

nn::DeltaSites* L2pImpl::sites(delta::Tower tower, const delta::SiteContext& context) {
  if (tower != delta::Tower::kImage) return nullptr;
  image_sites_->set_query(context.image_features);
  return image_sites_.get();
}

at::Tensor L2pImpl::head_logits(const at::Tensor& image_features) {
  if (head.is_empty()) throw Error("l2p: head is text; it has no classifier head of its own");
  return head->forward(image_features.to(head->weight.scalar_type()));
}

at::Tensor L2pImpl::loss_term(const delta::LossContext&) {
  if (!is_training() || options_.pull_constraint() == 0 || !last_reduce_sim_.defined()) {
    return at::Tensor();
  }
  at::Tensor term = -options_.pull_constraint() * last_reduce_sim_;
  last_reduce_sim_ = at::Tensor();
  return term;
}

void L2pImpl::set_classnames(const std::vector<std::string>& classnames) {
  if (head.is_empty() || classnames == classnames_) return;
  throw Error("l2p: its linear head was trained on " + std::to_string(classnames_.size()) +
              " classes and cannot classify another list of " + std::to_string(classnames.size()) +
              "; an l2p delta with head: text transfers");
}

std::map<std::string, std::string> L2pImpl::hyperparameters() const {
  return core::to_strings(options_);
}

std::map<std::string, double> L2pImpl::epoch_metrics() {
  std::map<std::string, double> out;
  const int64_t total = usage_.sum().item<int64_t>();
  if (total == 0) return out;
  for (int64_t i = 0; i < options_.pool_size(); ++i) {
    out["prompt_share_" + std::to_string(i)] =
        static_cast<double>(usage_[i].item<int64_t>()) / static_cast<double>(total);
  }
  usage_.zero_();
  return out;
}

namespace {

std::shared_ptr<delta::Delta> make_l2p(const core::ResolvedConfig& config,
                                       const std::string& section, const MethodContext& context) {
  return L2p(read_delta_options<L2pOptions>(config, section, context.seed), context.clip,
             context.classnames)
      .ptr();
}

}  // namespace

VLPROMPT_DELTA(l2p,
               "L2P: a pool of keyed image prompts chosen per image, for continual learning "
               "(Wang et al., CVPR 2022)",
               make_l2p, L2pOptions);

}  // namespace vlprompt::prompts
