#include "prompts/linear_probe.h"

#include "prompts/registry.h"
#include "src/core/error.h"

namespace vlprompt::prompts {

LinearProbeMethod::LinearProbeMethod(models::Clip clip, std::vector<std::string> classnames)
    : clip_(std::move(clip)), classnames_(std::move(classnames)) {
  const int64_t c = static_cast<int64_t>(classnames_.size());
  weight_ = at::zeros({c, clip_->config().embed_dim});
  bias_ = at::zeros({c});
}

at::Tensor LinearProbeMethod::forward(const engine::Batch& batch) {
  at::Tensor f = batch.inputs;
  if (!batch.inputs_are_features) {
    at::NoGradGuard no_grad;
    f = clip_->encode_image(batch.inputs);
  }
  f = f / f.norm(2, -1, true).clamp_min(1e-12);
  return at::addmm(bias_.to(f.device()), f, weight_.to(f.device()).t());
}

core::TensorMap LinearProbeMethod::state() const {
  return {{"linear_probe.weight", weight_}, {"linear_probe.bias", bias_}};
}

void LinearProbeMethod::load_state(const core::TensorMap& state) {
  const std::pair<const char*, at::Tensor*> targets[] = {{"linear_probe.weight", &weight_},
                                                         {"linear_probe.bias", &bias_}};
  for (const auto& [name, target] : targets) {
    auto it = state.find(name);
    if (it == state.end()) throw Error(std::string("linear-probe state lacks '") + name + "'");
    if (it->second.sizes() != target->sizes()) {
      throw Error(std::string("linear-probe '") + name + "' has shape " +
                  c10::str(it->second.sizes()) + ", expected " + c10::str(target->sizes()));
    }
    target->copy_(it->second);
  }
}

std::string LinearProbeMethod::backbone_fingerprint() const { return clip_->fingerprint(); }

std::map<std::string, std::string> LinearProbeMethod::hyperparameters() const {
  return {{"l2", std::to_string(l2_)}};
}

void LinearProbeMethod::set_classnames(const std::vector<std::string>& classnames) {
  if (classnames != classnames_) {
    throw Error("a linear probe is tied to the " + std::to_string(classnames_.size()) +
                " classes it was fitted on; it cannot classify another class list (" +
                std::to_string(classnames.size()) + " classes given)");
  }
}

void LinearProbeMethod::set_probe(const engine::LinearProbe& probe) {
  weight_.copy_(probe.weight);
  bias_.copy_(probe.bias);
  l2_ = probe.l2;
}

namespace {

std::unique_ptr<engine::Method> make_linear_probe(const YAML::Node& config, models::Clip clip,
                                                  std::shared_ptr<const text::ClipTokenizer>,
                                                  const std::vector<std::string>& classnames) {
  return std::make_unique<LinearProbeMethod>(std::move(clip), classnames);
}

std::shared_ptr<delta::Delta> no_delta(const delta::DeltaFileInfo& info, models::Clip,
                                       std::shared_ptr<const text::ClipTokenizer>) {
  throw Error(
      "linear-probe is a classifier on image features, not a prompt delta: evaluate it "
      "with `vlprompt eval`, it has no sites to apply");
}

}  // namespace

VLPROMPT_METHOD(linear_probe, "linear probe baseline: logistic regression on image features",
                make_linear_probe, no_delta);

}  // namespace vlprompt::prompts
