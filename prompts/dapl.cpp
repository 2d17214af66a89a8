#include "prompts/dapl.h"

#include <ATen/CPUGeneratorImpl.h>

#include <sstream>

#include "prompts/coop_layout.h"
#include "prompts/registry.h"
#include "prompts/templates.h"
#include "src/core/error.h"
#include "src/core/strings.h"

namespace vlprompt::prompts {

// The text tower's input-token site: the reference concatenates [SOS][ctx dmx_d][suffix], so the
// n_ctx + n_dmx placeholder columns 1..n of every row are replaced by that row's vectors.
class DaplTextSites : public nn::DeltaSites {
 public:
  explicit DaplTextSites(DaplImpl& dapl) : dapl_(dapl) {}
  void bind(const delta::SiteContext& context) { context_ = &context; }

  at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor& token_ids) override {
    const int64_t classes = static_cast<int64_t>(dapl_.classnames_.size());
    const int64_t domains = static_cast<int64_t>(dapl_.domains_.size());
    const int64_t rows_all = domains * classes, width = tokens.size(-1);
    const int64_t n = dapl_.options_.n_ctx() + dapl_.options_.n_dmx();
    const at::Tensor& rows = context_->prompt_rows;
    if (tokens.dim() != 3 || tokens.size(1) <= n ||
        tokens.size(0) != (rows.defined() ? rows.numel() : rows_all)) {
      throw Error("dapl: the text tower ran on tokens " + c10::str(tokens.sizes()) + " but DAPL " +
                  "lays out " + std::to_string(rows_all) + " prompts (" + std::to_string(domains) +
                  " domains x " + std::to_string(classes) + " classes)" +
                  (rows.defined() ? " and the context names " + std::to_string(rows.numel()) : ""));
    }
    const int64_t n_ctx = dapl_.options_.n_ctx();
    // [D * C, n_ctx, W]: the same context for every domain (per class with csc).
    const at::Tensor ctx = dapl_.options_.csc()
                               ? dapl_.ctx.repeat({domains, 1, 1})
                               : dapl_.ctx.unsqueeze(0).expand({rows_all, n_ctx, width});
    // [D * C, n_dmx, W]: domain d's vectors for each of its classes.
    const at::Tensor dmx = dapl_.dmx.repeat_interleave(classes, 0);
    at::Tensor learned = at::cat({ctx, dmx}, 1);
    if (rows.defined()) learned = learned.index_select(0, rows);
    return at::cat(
        {tokens.slice(1, 0, 1), learned.to(tokens.scalar_type()), tokens.slice(1, 1 + n)}, 1);
  }

  // A unified context is alike in every row and the domain vectors within a domain, so rows of
  // one domain share [SOS][ctx][dmx]; a class-specific context differs from column 1 on.
  nn::SharedPrefix shared_prefix() const override {
    if (dapl_.options_.csc()) return {1, {}};
    const int64_t classes = static_cast<int64_t>(dapl_.classnames_.size());
    const at::Tensor& rows = context_->prompt_rows;
    const at::Tensor all = rows.defined()
                               ? rows
                               : at::arange(static_cast<int64_t>(dapl_.domains_.size()) * classes,
                                            at::TensorOptions(dapl_.ctx.device()).dtype(at::kLong));
    return {nn::SharedPrefix::kUnlimited, at::div(all, classes, "floor")};
  }

 private:
  DaplImpl& dapl_;
  const delta::SiteContext* context_ = nullptr;
};

std::string dapl_prompt_text(int64_t n, const std::string& classname, const std::string& domain) {
  std::string prefix = "X";
  for (int64_t i = 1; i < n; ++i) prefix += " X";
  return prefix + " " + core::spaces_for_underscores(classname) + " , a " + domain + " image..";
}

PseudoLabels dapl_pseudo_labels(const at::Tensor& zero_shot_logits, double t, double tau) {
  const at::Tensor probs = at::softmax(zero_shot_logits.to(at::kFloat) / t, -1);
  auto [max_probs, labels] = probs.max(-1);
  return {labels, max_probs.ge(tau)};
}

namespace {

std::vector<std::string> parse_domains(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) throw Error("dapl: domains '" + list + "' has an empty name");
    out.push_back(item);
  }
  return out;
}

}  // namespace

DaplImpl::DaplImpl(DaplOptions options, models::Clip clip,
                   std::shared_ptr<const text::ClipTokenizer> tokenizer,
                   const std::vector<std::string>& classnames)
    : Delta("dapl"),
      options_(std::move(options)),
      clip_(std::move(clip)),
      tokenizer_(std::move(tokenizer)),
      text_sites_(std::make_unique<DaplTextSites>(*this)) {
  provide<delta::ClassPrompts>(this);
  provide<delta::DomainAdaptive>(this);
  if (!clip_ || !tokenizer_) throw Error("dapl: needs a CLIP model and its tokenizer");
  if (classnames.empty()) throw Error("dapl: the class list is empty");
  domains_ = parse_domains(options_.domains());
  if (domains_.size() < 2) {
    throw Error("dapl: domains is '" + options_.domains() +
                "'; DAPL needs a source and a target domain (train with --target DATASET)");
  }
  if (options_.n_ctx() < 1 || options_.n_dmx() < 1) {
    throw Error("dapl: n_ctx and n_dmx must be >= 1; got " + std::to_string(options_.n_ctx()) +
                " and " + std::to_string(options_.n_dmx()));
  }
  if (!(options_.t() > 0)) throw Error("dapl: t is " + c10::str(options_.t()) + ", expected > 0");
  check_text_tokens("dapl.n_ctx + dapl.n_dmx", options_.n_ctx() + options_.n_dmx(),
                    clip_->config().text.context_length);
  // The reference draws ctx, then the domain vectors, both ~ N(0, init_std).
  const ContextStart start = context_start(
      "dapl", "", options_.n_ctx(), options_.init_std(), options_.seed(),
      options_.csc() ? static_cast<int64_t>(classnames.size()) : 0, clip_, *tokenizer_);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed() ^ 0x64a9c1ull);
  const at::Tensor domain_vectors = at::empty({static_cast<int64_t>(domains_.size()),
                                               options_.n_dmx(), clip_->config().text.width},
                                              at::kFloat)
                                        .normal_(0.0, options_.init_std(), generator)
                                        .to(start.vectors.device());
  const at::Device device = models::weights_device(clip_);
  token_ids_ = register_buffer("token_ids", at::zeros({1, 1}, at::kLong).to(device));
  pseudo_ids_ = register_buffer("pseudo_ids", at::zeros({1, 1}, at::kLong).to(device));
  set_classnames(classnames);
  ctx = register_parameter("ctx", start.vectors);
  dmx = register_parameter("dmx", domain_vectors);
}

DaplImpl::~DaplImpl() = default;

void DaplImpl::set_classnames(const std::vector<std::string>& classnames) {
  if (options_.csc() && ctx.defined() && classnames != classnames_) {
    throw Error("dapl: this class-specific context was trained on " +
                std::to_string(classnames_.size()) +
                " classes and cannot be applied to another class list (" +
                std::to_string(classnames.size()) + " classes); use csc false to transfer");
  }
  const int64_t n = options_.n_ctx() + options_.n_dmx();
  const int64_t length = clip_->config().text.context_length;
  std::vector<std::string> prompts, pseudo;
  for (const auto& domain : domains_) {
    for (const auto& name : classnames) prompts.push_back(dapl_prompt_text(n, name, domain));
  }
  for (const auto& name : classnames) {
    pseudo.push_back(fill_template(options_.pseudo_template(), core::spaces_for_underscores(name)));
  }
  const at::Tensor ids = tokenizer_->tokenize(prompts, length, /*truncate=*/false);
  const std::vector<int64_t> x = tokenizer_->encode("X");
  const auto id = ids.accessor<int64_t, 2>();
  for (int64_t r = 0; r < ids.size(0); ++r) {
    for (int64_t j = 1; j <= n; ++j) {
      if (id[r][j] != x.at(0)) {
        throw Error("dapl: prompt '" + prompts[r] + "' does not start with " + std::to_string(n) +
                    " placeholder tokens");
      }
    }
  }
  at::NoGradGuard no_grad;
  const at::Device device = token_ids_.device();
  token_ids_.set_(ids.to(device));
  pseudo_ids_.set_(tokenizer_->tokenize(pseudo, length).to(device));
  pseudo_text_ = at::Tensor();
  classnames_ = classnames;
}

nn::DeltaSites* DaplImpl::sites(delta::Tower tower, const delta::SiteContext& context) {
  if (tower != delta::Tower::kText) return nullptr;
  text_sites_->bind(context);
  return text_sites_.get();
}

PseudoLabels DaplImpl::zero_shot_pseudo_labels(const delta::UnlabelledContext& context) {
  at::NoGradGuard no_grad;
  if (!pseudo_text_.defined() || pseudo_text_.device() != token_ids_.device()) {
    pseudo_text_ = context.frozen_class_features(pseudo_ids_.to(token_ids_.device()));
  }
  return dapl_pseudo_labels(context.logits(context.input_features, pseudo_text_), options_.t(),
                            options_.tau());
}

at::Tensor DaplImpl::pseudo_labels(const delta::UnlabelledContext& context) {
  const PseudoLabels p = zero_shot_pseudo_labels(context);
  return p.labels.masked_fill(p.keep.logical_not(), -1);
}

at::Tensor DaplImpl::unlabelled_loss(const delta::UnlabelledContext& context) {
  const PseudoLabels p = zero_shot_pseudo_labels(context);
  const int64_t classes = static_cast<int64_t>(classnames_.size());
  const int64_t target = static_cast<int64_t>(domains_.size()) - 1;
  const at::Tensor target_text =
      context.class_features.slice(0, target * classes, (target + 1) * classes);
  const at::Tensor logits = context.logits(context.input_features, target_text);
  const at::Tensor keep = p.keep.to(logits.scalar_type());
  const at::Tensor per_image =
      at::cross_entropy_loss(logits, p.labels, {}, at::Reduction::None) * keep;
  // The reference's sum / kept count, with 0 (not NaN) when nothing is kept.
  const at::Tensor loss = per_image.sum() / keep.sum().clamp_min(1.0);
  kept_ += keep.sum().item<double>();
  seen_ += static_cast<double>(keep.numel());
  return loss * options_.u();
}

std::map<std::string, double> DaplImpl::epoch_metrics() {
  std::map<std::string, double> out;
  if (seen_ > 0) out["pseudo_share"] = kept_ / seen_;
  kept_ = seen_ = 0;
  return out;
}

std::map<std::string, std::string> DaplImpl::hyperparameters() const {
  return core::to_strings(options_);
}

namespace {

std::shared_ptr<delta::Delta> make_dapl(const core::ResolvedConfig& config,
                                        const std::string& section, const MethodContext& context) {
  DaplOptions o = read_delta_options<DaplOptions>(config, section, context.seed);
  if (o.domains().empty()) {
    std::string joined;
    for (const auto& d : context.domains) joined += (joined.empty() ? "" : ",") + d;
    o.domains(joined);
  }
  return Dapl(o, context.clip, context.tokenizer, context.classnames).ptr();
}

}  // namespace

VLPROMPT_DELTA(dapl,
               "DAPL: domain-agnostic + domain-specific prompt context for unsupervised domain "
               "adaptation (Ge et al., TNNLS 2023)",
               make_dapl, DaplOptions);

}  // namespace vlprompt::prompts
