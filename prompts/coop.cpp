#include "prompts/coop.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "prompts/coop_layout.h"
#include "prompts/kgcoop.h"
#include "prompts/registry.h"
#include "src/core/error.h"
#include "src/core/strings.h"

namespace vlprompt::prompts {

// The text tower's input-token site: writes every context vector into its (row, column) slot
// with one index_put, for any rows of class prompts and all three class-token positions alike.
class CoOpTextSites : public nn::DeltaSites {
 public:
  explicit CoOpTextSites(CoOpImpl& coop) : coop_(coop) {}

  void bind(const delta::SiteContext& context) { context_ = &context; }

  at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor& token_ids) override {
    const int64_t num_classes = coop_.token_ids_.size(0);
    const at::Tensor& rows = context_->prompt_rows;
    const int64_t batch = tokens.size(0);
    if (tokens.dim() != 3 || tokens.size(1) <= coop_.last_ctx_col_ ||
        (rows.defined() ? rows.numel() != batch : batch != num_classes)) {
      throw Error("coop: the text tower ran on tokens " + c10::str(tokens.sizes()) +
                  " but the site context names " +
                  (rows.defined() ? std::to_string(rows.numel()) + " prompt rows"
                                  : "no rows (all " + std::to_string(num_classes) + " classes)") +
                  " of CoOp's class prompts " + c10::str(coop_.token_ids_.sizes()));
    }
    const int64_t width = tokens.size(2);
    // Row b's context goes to the columns of its class; a class-specific context is picked per
    // row, a unified one is the same for every row.
    const at::Tensor cols =
        rows.defined() ? coop_.ctx_cols_.index_select(0, rows) : coop_.ctx_cols_;
    const at::Tensor values =
        coop_.options_.csc()
            ? (rows.defined() ? coop_.ctx.index_select(0, rows) : coop_.ctx).reshape({-1, width})
            : coop_.ctx.repeat({batch, 1});
    return write_context(tokens, values, cols);
  }

  // A unified context is the same vectors in the same columns up to the class tokens (end:
  // [SOS][ctx x n]); a class-specific one differs from column 1 on.
  nn::SharedPrefix shared_prefix() const override { return {coop_.shared_columns_, {}}; }

 private:
  CoOpImpl& coop_;
  const delta::SiteContext* context_ = nullptr;
};

namespace {

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  const size_t shown = std::min<size_t>(names.size(), 8);
  for (size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > shown) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

}  // namespace

CoOpImpl::CoOpImpl(CoOpOptions options, models::Clip clip,
                   std::shared_ptr<const text::ClipTokenizer> tokenizer,
                   const std::vector<std::string>& classnames)
    : Delta("coop"),
      options_(std::move(options)),
      clip_(std::move(clip)),
      tokenizer_(std::move(tokenizer)),
      text_sites_(std::make_unique<CoOpTextSites>(*this)) {
  provide<delta::ClassPrompts>(this);
  if (options_.kg_weight() != 0) provide<delta::LossTerm>(this);
  if (!clip_) throw Error("coop: no CLIP model given");
  if (!tokenizer_) throw Error("coop: no tokenizer given");
  check_class_token_position(options_.class_token_position());
  if (classnames.empty()) throw Error("coop: the class list is empty");
  ContextStart start = context_start(
      "coop", options_.ctx_init(), options_.n_ctx(), options_.init_std(), options_.seed(),
      options_.csc() ? static_cast<int64_t>(classnames.size()) : 0, clip_, *tokenizer_);
  options_.ctx_init(options_.ctx_init().empty() ? "" : start.prefix_text);
  options_.n_ctx(start.n_ctx);
  prefix_text_ = start.prefix_text;
  const at::Device device = models::weights_device(clip_);
  const int64_t context = clip_->config().text.context_length;
  token_ids_ = register_buffer("token_ids", at::zeros({1, context}, at::kLong).to(device));
  ctx_cols_ = register_buffer("ctx_cols", at::zeros({1, 1}, at::kLong).to(device));
  set_classnames(classnames);
  ctx = register_parameter("ctx", start.vectors);
}

CoOpImpl::~CoOpImpl() = default;

void CoOpImpl::set_classnames(const std::vector<std::string>& classnames) {
  if (options_.csc() && ctx.defined() && classnames != classnames_) {
    throw Error("coop: this class-specific context was trained on " +
                std::to_string(classnames_.size()) + " classes [" + join_names(classnames_) +
                "] and cannot be applied to " + std::to_string(classnames.size()) + " classes [" +
                join_names(classnames) +
                "]; only a unified context (csc false) transfers to other classes");
  }
  CoOpLayout layout =
      coop_layout(*tokenizer_, prefix_text_, options_.n_ctx(), classnames,
                  options_.class_token_position(), clip_->config().text.context_length);
  // set_ swaps the data under the registered buffers, so module.to() and buffers() still see them.
  at::NoGradGuard no_grad;
  const at::Device device = token_ids_.device();
  token_ids_.set_(layout.token_ids.to(device));
  ctx_cols_.set_(layout.cols.view({static_cast<int64_t>(classnames.size()), -1}).to(device));
  last_ctx_col_ = layout.cols.max().item<int64_t>();
  shared_columns_ = shared_context_columns(ctx_cols_, options_.csc());
  classnames_ = classnames;
}

at::Tensor CoOpImpl::text_features(models::TextPositions positions) {
  const delta::SiteContext all_classes;
  return clip_->encode_text(token_ids_, sites(delta::Tower::kText, all_classes), positions);
}

nn::DeltaSites* CoOpImpl::sites(delta::Tower tower, const delta::SiteContext& context) {
  if (tower != delta::Tower::kText) return nullptr;
  text_sites_->bind(context);
  return text_sites_.get();
}

std::map<std::string, std::string> CoOpImpl::hyperparameters() const {
  return core::to_strings(options_);
}

at::Tensor CoOpImpl::loss_term(const delta::LossContext& context) {
  if (options_.kg_weight() == 0) return {};
  return knowledge_guidance_term(options_.kg_weight(), context.text_features,
                                 context.manual_text_features());
}

CoOpOptions read_coop_options(const core::ResolvedConfig& config, const std::string& section,
                              uint64_t run_seed) {
  CoOpOptions o = read_delta_options<CoOpOptions>(config, section, run_seed);
  core::check_choice(config, core::config_detail::join_key(section, "class_token_position"),
                     o.class_token_position(), class_token_positions());
  return o;
}

namespace {

std::shared_ptr<delta::Delta> make_coop(const core::ResolvedConfig& config,
                                        const std::string& section, const MethodContext& context) {
  return CoOp(read_coop_options(config, section, context.seed), context.clip, context.tokenizer,
              context.classnames)
      .ptr();
}

}  // namespace

VLPROMPT_DELTA(coop, "CoOp: learned context words for the class prompts (Zhou et al., IJCV 2022)",
               make_coop, CoOpOptions);

}  // namespace vlprompt::prompts
