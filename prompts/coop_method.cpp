#include "prompts/coop_method.h"

#include "prompts/registry.h"
#include "src/core/error.h"

namespace vlprompt::prompts {

CoOpMethod::CoOpMethod(models::Clip clip, CoOp coop)
    : clip_(std::move(clip)), coop_(std::move(coop)) {
  if (!clip_ || !coop_) throw Error("coop method: needs a CLIP model and a CoOp delta");
}

at::Tensor CoOpMethod::text_features() {
  if (training_ || at::GradMode::is_enabled()) return coop_->text_features();
  if (!cached_text_.defined()) cached_text_ = coop_->text_features();
  return cached_text_;
}

at::Tensor CoOpMethod::forward(const engine::Batch& batch) {
  at::Tensor image;
  if (batch.inputs_are_features) {
    image = batch.inputs;
  } else {
    at::NoGradGuard no_grad;  // the image tower is frozen: no graph through it
    image = clip_->encode_image(batch.inputs);
  }
  const at::Tensor text = text_features();
  return clip_->logits(image.to(text.device(), text.scalar_type()), text);
}

std::vector<at::Tensor> CoOpMethod::trainable_parameters() { return {coop_->ctx}; }

core::TensorMap CoOpMethod::state() const { return coop_->named_tensors(); }

void CoOpMethod::load_state(const core::TensorMap& state) {
  coop_->load_named_tensors(state, "coop state");
  cached_text_ = at::Tensor();
}

void CoOpMethod::set_training(bool training) {
  training_ = training;
  cached_text_ = at::Tensor();
}

void CoOpMethod::set_classnames(const std::vector<std::string>& classnames) {
  coop_->set_classnames(classnames);
  cached_text_ = at::Tensor();
}

std::map<std::string, std::string> CoOpMethod::hyperparameters() const {
  return coop_->hyperparameters();
}

std::string CoOpMethod::backbone_fingerprint() const { return clip_->fingerprint(); }

delta::DeltaFileInfo CoOpMethod::delta_info() const {
  delta::DeltaFileInfo info;
  info.method = coop_->method();
  info.hyperparameters = coop_->hyperparameters();
  info.backbone = clip_->config().name;
  info.backbone_fingerprint = clip_->fingerprint();
  info.classnames = coop_->classnames();
  return info;
}

namespace {

std::unique_ptr<engine::Method> make_coop_method(
    const YAML::Node& config, models::Clip clip,
    std::shared_ptr<const text::ClipTokenizer> tokenizer,
    const std::vector<std::string>& classnames) {
  CoOp coop(coop_options_from(scalar_map(config, "coop")), clip, std::move(tokenizer), classnames);
  return std::make_unique<CoOpMethod>(std::move(clip), std::move(coop));
}

std::shared_ptr<delta::Delta> make_coop_delta(
    const delta::DeltaFileInfo& info, models::Clip clip,
    std::shared_ptr<const text::ClipTokenizer> tokenizer) {
  return CoOp(coop_options_from(info.hyperparameters), std::move(clip), std::move(tokenizer),
              info.classnames)
      .ptr();
}

}  // namespace

VLPROMPT_METHOD(coop, "CoOp: learned context words for the class prompts (Zhou et al., IJCV 2022)",
                make_coop_method, make_coop_delta);

}  // namespace vlprompt::prompts
