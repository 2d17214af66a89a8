#include "prompts/tip_adapter.h"

#include "prompts/registry.h"
#include "prompts/tip_search.h"
#include "src/core/error.h"

namespace vlprompt::prompts {
namespace {

std::string str(double x) { return c10::str(x); }

}  // namespace

TipAdapterImpl::TipAdapterImpl(TipAdapterOptions options, const models::Clip& clip,
                               const std::vector<std::string>& classnames, bool fine_tune)
    : Delta(fine_tune ? "tip_adapter_f" : "tip_adapter"),
      options_(std::move(options)),
      classnames_(classnames),
      fine_tune_(fine_tune) {
  const std::string& m = method();
  if (!clip) throw Error(m + ": no CLIP model given");
  if (classnames_.empty()) throw Error(m + ": the cache needs the class list");
  const auto at_least = [&](const char* key, double value, double low) {
    if (value < low) {
      throw Error(m + "." + key + " is " + str(value) + ", expected >= " + str(low));
    }
  };
  at_least("beta", options_.beta(), 0);
  at_least("search_step_beta", options_.search_step_beta(), 1);
  at_least("search_step_alpha", options_.search_step_alpha(), 1);
  at_least("augment_views", options_.augment_views(), 1);
  at_least("cache_size", options_.cache_size(), 0);
  if (!(options_.augment_scale_min() > 0 && options_.augment_scale_min() <= 1)) {
    throw Error(m + ".augment_scale_min is " + str(options_.augment_scale_min()) +
                ", expected in (0, 1]");
  }
  const int64_t size = options_.cache_size(), d = clip->config().embed_dim;
  const int64_t c = static_cast<int64_t>(classnames_.size());
  keys = register_parameter("keys", at::zeros({size, d}), /*requires_grad=*/fine_tune_);
  values = register_parameter("values", at::zeros({size, c}), /*requires_grad=*/false);
  to(models::weights_device(clip));
  provide<delta::FewShotCache>(this);
  provide<delta::LogitResidual>(this);
}

void TipAdapterImpl::build_cache(const at::Tensor& view_features, const at::Tensor& labels,
                                 int64_t num_classes) {
  const int64_t d = keys.size(1), c = values.size(1);
  if (view_features.dim() != 3 || view_features.size(2) != d || view_features.size(0) < 1) {
    throw Error(method() + ": cache views must be [views, images, " + std::to_string(d) +
                "], got " + c10::str(view_features.sizes()));
  }
  if (labels.dim() != 1 || labels.size(0) != view_features.size(1)) {
    throw Error(method() + ": " + c10::str(labels.sizes()) + " labels for " +
                std::to_string(view_features.size(1)) + " cached images");
  }
  if (num_classes != c) {
    throw Error(method() + ": a cache over " + std::to_string(num_classes) +
                " classes for a delta made for " + std::to_string(c));
  }
  at::NoGradGuard no_grad;
  // build_cache_model: the mean over the augmented views first, then one normalisation.
  const at::Tensor mean = view_features.to(at::kFloat).mean(0);
  const at::Tensor k = mean / mean.norm(2, -1, /*keepdim=*/true);
  const at::Tensor v = at::one_hot(labels.to(at::kLong), c).to(at::kFloat);
  keys.set_data(k.to(keys.device()));
  values.set_data(v.to(values.device()));
  options_.cache_size(k.size(0));
}

at::Tensor TipAdapterImpl::affinity(const at::Tensor& image_features) {
  const at::Tensor f = image_features.to(keys.device(), keys.scalar_type());
  // Tip-Adapter-F's keys train as an nn.Linear's weight and are not normalised again.
  return at::matmul(f / f.norm(2, -1, /*keepdim=*/true), keys.t());
}

at::Tensor TipAdapterImpl::residual_logits(const at::Tensor& image_features) {
  if (!has_cache()) {
    throw Error(method() + ": its cache is empty; a training run builds it from the few-shot " +
                "training images before anything is classified");
  }
  return options_.alpha() * tip_cache_logits(affinity(image_features), values, options_.beta());
}

nlohmann::json TipAdapterImpl::select_on_val(const at::Tensor& val_features,
                                             const at::Tensor& base_logits,
                                             const at::Tensor& val_labels) {
  at::NoGradGuard no_grad;
  const at::Tensor a = affinity(val_features);
  const at::Tensor base = base_logits.to(a.device(), a.scalar_type());
  // The starting point, scored the same way (a one-point grid).
  const TipSearch start =
      search_tip_grid(base, a, values, val_labels, {options_.beta()}, {options_.alpha()});
  nlohmann::json record = {
      {"n", val_labels.size(0)},
      {"initial", {{"alpha", start.alpha}, {"beta", start.beta}, {"val_top1", start.top1}}}};
  if (!options_.search()) {
    record.update({{"searched", false},
                   {"alpha", start.alpha},
                   {"beta", start.beta},
                   {"val_top1", start.top1}});
    return record;
  }
  const std::vector<double> betas =
      tip_grid(options_.search_scale_beta(), options_.search_step_beta());
  const std::vector<double> alphas =
      tip_grid(options_.search_scale_alpha(), options_.search_step_alpha());
  const TipSearch best = search_tip_grid(base, a, values, val_labels, betas, alphas);
  options_.alpha(best.alpha);
  options_.beta(best.beta);
  record.update(
      {{"searched", true},
       {"alpha", best.alpha},
       {"beta", best.beta},
       {"val_top1", best.top1},
       {"grid",
        {{"beta", {{"from", betas.front()}, {"to", betas.back()}, {"steps", betas.size()}}},
         {"alpha", {{"from", alphas.front()}, {"to", alphas.back()}, {"steps", alphas.size()}}},
         {"points", best.points},
         {"order", "beta outer, alpha inner; the first best top-1 is kept"}}}});
  return record;
}

void TipAdapterImpl::set_classnames(const std::vector<std::string>& classnames) {
  if (classnames == classnames_) return;
  throw Error(method() + ": its cache holds labels of " + std::to_string(classnames_.size()) +
              " classes and cannot classify another list of " + std::to_string(classnames.size()) +
              "; a Tip-Adapter cache is tied to its classes");
}

std::map<std::string, std::string> TipAdapterImpl::hyperparameters() const {
  return core::to_strings(options_);
}

namespace {

std::shared_ptr<delta::Delta> make_tip(const core::ResolvedConfig& config,
                                       const std::string& section, const MethodContext& context,
                                       bool fine_tune) {
  return TipAdapter(core::read_config<TipAdapterOptions>(config, section), context.clip,
                    context.classnames, fine_tune)
      .ptr();
}

std::shared_ptr<delta::Delta> make_tip_adapter(const core::ResolvedConfig& config,
                                               const std::string& section,
                                               const MethodContext& context) {
  return make_tip(config, section, context, /*fine_tune=*/false);
}

std::shared_ptr<delta::Delta> make_tip_adapter_f(const core::ResolvedConfig& config,
                                                 const std::string& section,
                                                 const MethodContext& context) {
  return make_tip(config, section, context, /*fine_tune=*/true);
}

}  // namespace

VLPROMPT_DELTA(tip_adapter,
               "Tip-Adapter: a training-free cache of the few-shot images beside the hand-written "
               "prompts (alpha, beta chosen on val)",
               make_tip_adapter, TipAdapterOptions);
VLPROMPT_DELTA(
    tip_adapter_f,
    "Tip-Adapter-F: Tip-Adapter with its cache keys fine-tuned (alpha, beta chosen on val)",
    make_tip_adapter_f, TipAdapterOptions);

}  // namespace vlprompt::prompts
