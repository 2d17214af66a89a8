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
    f = clip_->encode_image(batch.inputs.to(models::weights_device(clip_)));
  }
  f = f / f.norm(2, -1, true).clamp_min(1e-12);
  return at::addmm(bias_, f.to(weight_.device()), weight_.t());
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
  LinearProbeKeys keys;
  keys.l2 = l2_;
  return core::to_strings(keys);
}

void LinearProbeMethod::set_classnames(const std::vector<std::string>& classnames) {
  if (classnames != classnames_) {
    throw Error("a linear probe is tied to the " + std::to_string(classnames_.size()) +
                " classes it was fitted on; it cannot classify another class list (" +
                std::to_string(classnames.size()) + " classes given)");
  }
}

void LinearProbeMethod::to(const at::Device& device) {
  clip_->to(device);
  weight_ = weight_.to(device);
  bias_ = bias_.to(device);
}

nlohmann::json LinearProbeMethod::fit(const at::Tensor& train_features,
                                      const at::Tensor& train_labels,
                                      const at::Tensor& val_features,
                                      const at::Tensor& val_labels) {
  const engine::LinearProbe probe =
      engine::search_linear_probe(train_features, train_labels, val_features, val_labels,
                                  static_cast<int64_t>(classnames_.size()));
  set_probe(probe);
  nlohmann::json search = nlohmann::json::array();
  for (auto [l2, acc] : probe.search) search.push_back({{"l2", l2}, {"val_top1", acc}});
  return {{"l2", probe.l2}, {"l2_search_on_val", search}};
}

void LinearProbeMethod::set_probe(const engine::LinearProbe& probe) {
  weight_.copy_(probe.weight);
  bias_.copy_(probe.bias);
  l2_ = probe.l2;
}

namespace {

std::unique_ptr<FittedMethod> make_linear_probe(const core::ResolvedConfig& config,
                                                const std::string& section,
                                                const MethodContext& context) {
  auto method = std::make_unique<LinearProbeMethod>(context.clip, context.classnames);
  method->set_l2(core::read_config<LinearProbeKeys>(config, section).l2);
  return method;
}

}  // namespace

VLPROMPT_FITTED(linear_probe, "linear probe baseline: logistic regression on image features",
                make_linear_probe, LinearProbeKeys);

}  // namespace vlprompt::prompts
