#include "prompts/prompted_clip.h"

#include <algorithm>

#include "prompts/templates.h"
#include "src/core/error.h"
#include "src/engine/train_data.h"

namespace vlprompt::prompts {

using delta::Tower;

PromptedClipMethod::PromptedClipMethod(models::Clip clip,
                                       std::shared_ptr<const text::ClipTokenizer> tokenizer,
                                       delta::DeltaStack stack, std::vector<std::string> classnames,
                                       PromptedClipOptions options)
    : clip_(std::move(clip)),
      tokenizer_(std::move(tokenizer)),
      stack_(std::move(stack)),
      classnames_(std::move(classnames)),
      options_(std::move(options)) {
  if (!clip_ || !stack_ || !tokenizer_) {
    throw Error("prompted CLIP: needs a CLIP model, a tokenizer and a delta stack");
  }
  if (stack_->member_names().empty()) throw Error("prompted CLIP: the delta stack is empty");
  if (classnames_.empty()) throw Error("prompted CLIP: the class list is empty");
  // Visual prompts are tokens; a ModifiedResNet has none, and silently ignoring them would train
  // and report a delta that does nothing.
  if (stack_->touches(Tower::kImage) && clip_->config().vision.type != "vit") {
    throw Error(name() + ": its image-side sites need a ViT image tower (token sequence), but " +
                clip_->config().name + " has a " + clip_->config().vision.type +
                " image tower; use a ViT backbone or a text-side method");
  }
  tokenize_template();
  const std::vector<std::string> domains = this->domains();
  if (!domains.empty()) {
    if (stack_->find<delta::ImageConditioned>()) {
      throw Error(name() + ": per-domain prompts cannot also be conditioned on the image");
    }
    set_domain(stack_->find<delta::DomainAdaptive>()->default_domain());
  }
  // A few-shot cache's keys are the frozen tower's features of the training images; a member
  // that changes the image features would classify features the keys were never made from.
  if (stack_->find<delta::FewShotCache>() &&
      (stack_->touches(Tower::kImage) || stack_->find<delta::ImageFeatureBlend>() ||
       stack_->find<delta::ImageFeatureMap>())) {
    throw Error(name() +
                ": its few-shot cache holds frozen image features, so it cannot sit beside a "
                "member that changes the image features (image-side sites, a blend or a map)");
  }
}

void PromptedClipMethod::set_domain(const std::string& domain) {
  const std::vector<std::string> domains = this->domains();
  const auto it = std::find(domains.begin(), domains.end(), domain);
  if (it == domains.end()) {
    if (domains.empty()) return Method::set_domain(domain);
    std::string names;
    for (const auto& d : domains) names += (names.empty() ? "" : ", ") + d;
    throw Error(name() + ": no prompts for domain '" + domain +
                "'; this delta's domains: " + names);
  }
  domain_ = domain;
  domain_row_ = it - domains.begin();
}

std::string PromptedClipMethod::name() const {
  std::string out;
  for (const auto& member : stack_->member_names()) {
    out += (out.empty() ? "" : "+") + stack_->member(member)->method();
  }
  return out;
}

engine::DataNeeds PromptedClipMethod::data_needs() const {
  engine::DataNeeds needs;
  needs.images_in_loop =
      stack_->touches(Tower::kImage) || stack_->find<delta::ImageFeatureBlend>() != nullptr;
  return needs;
}

void PromptedClipMethod::tokenize_template() {
  manual_text_ = at::Tensor();
  std::vector<std::string> texts;
  texts.reserve(classnames_.size());
  for (const auto& c : classnames_) texts.push_back(fill_template(options_.text_template(), c));
  template_ids_ = tokenizer_->tokenize(texts, clip_->config().text.context_length)
                      .to(models::weights_device(clip_));
}

at::Tensor PromptedClipMethod::prompt_ids() const {
  const auto* layout = stack_->find<delta::ClassPrompts>();
  const at::Tensor laid_out = layout ? layout->class_prompt_ids() : at::Tensor();
  return laid_out.defined() ? laid_out : template_ids_;
}

at::Tensor PromptedClipMethod::image_features(const engine::Batch& batch) {
  const bool image_sites = stack_->touches(Tower::kImage);
  auto* blend = stack_->find<delta::ImageFeatureBlend>();
  auto* map = stack_->find<delta::ImageFeatureMap>();
  if (batch.inputs_are_features) {
    if (image_sites || blend) {
      throw Error(name() +
                  ": it changes the image features from the pixels, so it needs images in "
                  "the loop; it was given precomputed image features");
    }
    return map ? map->map_features(batch.inputs) : batch.inputs;
  }
  at::Tensor features;
  if (image_sites) {
    delta::SiteContext context;
    if (stack_->find<delta::ImageQuery>()) {
      at::NoGradGuard no_grad;  // the query is the frozen tower's: a constant to the delta
      context.image_features = clip_->encode_image(batch.inputs);
    }
    features = clip_->encode_image(batch.inputs, stack_->sites(Tower::kImage, context));
  } else {
    at::NoGradGuard no_grad;  // the frozen tower with nothing of ours inside: no graph
    features = clip_->encode_image(batch.inputs);
  }
  if (blend) features = blend->blend(batch.inputs, features);
  return map ? map->map_features(features) : features;
}

at::Tensor PromptedClipMethod::class_text_features() {
  if (stack_->find<delta::ImageConditioned>()) {
    throw Error(name() +
                ": its prompts depend on the image; there are no class text features "
                "without one");
  }
  const bool reuse = !training_ && !at::GradMode::is_enabled();
  if (reuse && cached_text_.defined()) return last_text_ = cached_text_;
  const delta::SiteContext all_classes;
  at::Tensor text = clip_->encode_text(prompt_ids(), stack_->sites(Tower::kText, all_classes));
  if (reuse) cached_text_ = text;
  return last_text_ = text;
}

int64_t PromptedClipMethod::images_per_pass() const {
  const int64_t classes = prompt_ids().size(0);
  return std::max<int64_t>(1, options_.text_rows_per_pass() / classes);
}

at::Tensor PromptedClipMethod::conditional_logits(const at::Tensor& image) {
  const at::Tensor ids = prompt_ids();
  const int64_t n = image.size(0), c = ids.size(0), per = images_per_pass();
  const auto index = at::TensorOptions(ids.device()).dtype(at::kLong);
  std::vector<at::Tensor> parts, texts;
  // Chunks of images, each one batched text pass over its (image, class) rows.
  for (int64_t start = 0; start < n; start += per) {
    const int64_t m = std::min(per, n - start);
    // Row (i, k) of the text batch is class k's prompt conditioned on image i.
    delta::SiteContext context;
    context.prompt_rows = at::arange(c, index).repeat({m});
    context.image_rows = at::arange(m, index).repeat_interleave(c);
    context.image_features = image.slice(0, start, start + m);
    const at::Tensor text = clip_->encode_text(ids.index_select(0, context.prompt_rows),
                                               stack_->sites(Tower::kText, context));
    texts.push_back(text.view({m, c, -1}));
    parts.push_back(
        clip_->paired_logits(context.image_features.to(text.scalar_type()), texts.back()));
  }
  last_text_ = texts.size() == 1 ? texts[0] : at::cat(texts);
  return parts.size() == 1 ? parts[0] : at::cat(parts);
}

at::Tensor PromptedClipMethod::manual_text_features() {
  if (!manual_text_.defined()) {
    at::NoGradGuard no_grad;  // the hand-written prompts through the frozen tower: constants
    manual_text_ = clip_->encode_text(template_ids_);
  }
  return manual_text_;
}

delta::UnlabelledContext PromptedClipMethod::unlabelled_context(const at::Tensor& image) {
  delta::UnlabelledContext context;
  context.input_features = image;
  context.class_features = last_text_;
  context.logits = [this](const at::Tensor& i, const at::Tensor& t) {
    return clip_->logits(i.to(t.device(), t.scalar_type()), t);
  };
  context.frozen_class_features = [this](const at::Tensor& ids) {
    at::NoGradGuard no_grad;
    return clip_->encode_text(ids);
  };
  return context;
}

at::Tensor PromptedClipMethod::loss(const at::Tensor& logits, const engine::Batch& batch) {
  at::Tensor loss = Method::loss(logits, batch);
  delta::LossContext context;
  context.text_features = last_text_;
  context.manual_text_features = [this] { return manual_text_features(); };
  if (auto* term_source = stack_->find<delta::LossTerm>()) {
    const at::Tensor term = term_source->loss_term(context);
    if (term.defined()) loss = loss + term;
  }
  // The unlabelled stream (domain adaptation's target): its images only, never labels.
  auto* adaptive = stack_->find<delta::DomainAdaptive>();
  if (batch.unlabelled && adaptive) {
    const at::Tensor u = adaptive->unlabelled_loss(
        unlabelled_context(image_features(*batch.unlabelled).to(logits.device())));
    if (u.defined()) loss = loss + u;
  }
  return loss;
}

at::Tensor PromptedClipMethod::frozen_image_features(const engine::Batch& batch) {
  at::NoGradGuard no_grad;
  return batch.inputs_are_features ? batch.inputs : clip_->encode_image(batch.inputs);
}

std::map<std::string, double> PromptedClipMethod::epoch_metrics(const engine::HookContext& hook) {
  std::map<std::string, double> out = stack_->epoch_metrics();
  auto* adaptive = stack_->find<delta::DomainAdaptive>();
  if (!unlabelled_reference_ || !adaptive) return out;
  at::NoGradGuard no_grad;
  engine::EvalData& reference = *unlabelled_reference_;
  int64_t seen = 0, kept = 0, right = 0;
  for (int64_t b = 0; b < reference.num_batches(); ++b) {
    const engine::Batch batch = engine::to_device(reference.batch(b), hook.device);
    const at::Tensor labels =
        adaptive->pseudo_labels(unlabelled_context(frozen_image_features(batch)));
    if (!labels.defined()) return out;
    const at::Tensor keep = labels.ge(0);
    seen += labels.size(0);
    kept += keep.sum().item<int64_t>();
    right += labels.eq(batch.labels.to(labels.device())).logical_and(keep).sum().item<int64_t>();
  }
  if (seen > 0) out["pseudo_kept"] = static_cast<double>(kept) / seen;
  if (kept > 0) out["pseudo_accuracy"] = 100.0 * right / kept;
  return out;
}

engine::StepOutput PromptedClipMethod::train_step(const engine::Batch& batch,
                                                  const std::string& where) {
  const int64_t n = batch.labels.size(0), per = images_per_pass();
  if (!stack_->find<delta::ImageConditioned>() || n <= per) return Method::train_step(batch, where);
  at::Tensor total = at::zeros({}, at::TensorOptions(batch.labels.device()));
  std::vector<at::Tensor> logits;
  for (int64_t start = 0; start < n; start += per) {
    const int64_t end = std::min(n, start + per);
    engine::Batch part = batch;
    part.inputs = batch.inputs.slice(0, start, end);
    part.labels = batch.labels.slice(0, start, end);
    if (batch.domains.defined()) part.domains = batch.domains.slice(0, start, end);
    const at::Tensor l = forward(part);
    const at::Tensor loss = this->loss(l, part) * (static_cast<double>(end - start) / n);
    if (loss.numel() != 1 || !loss.requires_grad()) {
      throw Error(name() + ": the loss at " + where + " must be one number that depends on the " +
                  "trainable parameters");
    }
    loss.backward();
    total += loss.detach().to(total.device());
    logits.push_back(l.detach());
  }
  return {total, at::cat(logits)};
}

at::Tensor PromptedClipMethod::forward(const engine::Batch& batch) {
  return logits_from_image_features(image_features(batch), batch);
}

nn::DeltaSites* PromptedClipMethod::image_pass_sites() {
  // A blend reads the pixels and a map follows the pass: either way the pass is the method's own.
  if (!stack_->touches(Tower::kImage) || stack_->find<delta::ImageFeatureBlend>() ||
      stack_->find<delta::ImageFeatureMap>() || stack_->find<delta::ImageQuery>()) {
    return nullptr;
  }
  static const delta::SiteContext no_context;
  return stack_->sites(Tower::kImage, no_context);
}

at::Tensor PromptedClipMethod::logits_from_image_features(const at::Tensor& image,
                                                          const engine::Batch& batch) {
  const at::Tensor logits = similarity_logits(image, batch);
  auto* residual = stack_->find<delta::LogitResidual>();
  if (!residual) return logits;
  return logits + residual->residual_logits(image).to(logits.device(), logits.scalar_type());
}

nlohmann::json PromptedClipMethod::select_on_val(const at::Tensor& val_features,
                                                 const at::Tensor& val_labels) {
  auto* residual = stack_->find<delta::LogitResidual>();
  if (!residual) throw Error(name() + ": no member has hyper-parameters to choose on val");
  at::NoGradGuard no_grad;
  set_training(false);
  engine::Batch batch;
  batch.inputs = val_features.to(models::weights_device(clip_));
  batch.inputs_are_features = true;
  const at::Tensor image = image_features(batch);
  const at::Tensor base = similarity_logits(image, batch);
  return residual->select_on_val(image, base, val_labels.to(base.device()));
}

at::Tensor PromptedClipMethod::similarity_logits(const at::Tensor& image,
                                                 const engine::Batch& batch) {
  if (auto* head = stack_->find<delta::ClassHead>()) {
    last_text_ = at::Tensor();
    return head->head_logits(image);
  }
  if (stack_->find<delta::ImageConditioned>()) return conditional_logits(image);
  const at::Tensor text = class_text_features();
  const at::Tensor features = image.to(text.device(), text.scalar_type());
  const int64_t domains = static_cast<int64_t>(this->domains().size());
  if (domains == 0) return clip_->logits(features, text);
  const at::Tensor per_domain = text.view({domains, text.size(0) / domains, text.size(1)});
  if (!batch.domains.defined()) return clip_->logits(features, per_domain[domain_row_]);
  // Row i against the prompts of its own domain.
  return clip_->paired_logits(features,
                              per_domain.index_select(0, batch.domains.to(text.device())));
}

std::vector<at::Tensor> PromptedClipMethod::trainable_parameters() {
  return stack_->trainable_parameters();
}

core::TensorMap PromptedClipMethod::state() const { return stack_->named_tensors(); }

void PromptedClipMethod::load_state(const core::TensorMap& state) {
  stack_->load_named_tensors(state, name() + " state");
  cached_text_ = at::Tensor();
}

void PromptedClipMethod::set_training(bool training) {
  training_ = training;
  stack_->train(training);
  cached_text_ = at::Tensor();
}

std::map<std::string, std::string> PromptedClipMethod::hyperparameters() const {
  const auto& members = stack_->member_names();
  if (members.size() == 1) return stack_->member(members.front())->hyperparameters();
  return stack_->hyperparameters();
}

std::string PromptedClipMethod::backbone_fingerprint() const { return clip_->fingerprint(); }

void PromptedClipMethod::set_classnames(const std::vector<std::string>& classnames) {
  if (classnames.empty()) throw Error(name() + ": the class list is empty");
  stack_->set_classnames(classnames);
  classnames_ = classnames;
  tokenize_template();
  cached_text_ = at::Tensor();
}

void PromptedClipMethod::to(const at::Device& device) {
  clip_->to(device);
  stack_->to(device);
  template_ids_ = template_ids_.to(device);
  cached_text_ = at::Tensor();
  manual_text_ = at::Tensor();
}

}  // namespace vlprompt::prompts
