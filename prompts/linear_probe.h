// The linear-probe baseline as a Method: logistic regression weights on frozen, normalized image
// features. Fitted by engine::search_linear_probe (L2 chosen on val), evaluated like any method;
// its weights belong to its classes, so it refuses another class list.
#pragma once

#include "models/clip/clip_model.h"
#include "prompts/registry.h"
#include "src/engine/linear_probe.h"

namespace vlprompt::prompts {

// A probe file records its chosen strength; a run config has nothing to set.
struct LinearProbeKeys {
  double l2 = 0;
  template <class V>
  void visit(V& v) {
    v("l2", l2, "L2 strength (chosen on val when fitting)");
  }
};

class LinearProbeMethod : public FittedMethod {
 public:
  LinearProbeMethod(models::Clip clip, std::vector<std::string> classnames);

  std::string name() const override { return "linear-probe"; }
  at::Tensor forward(const engine::Batch& batch) override;
  std::vector<at::Tensor> trainable_parameters() override { return {weight_, bias_}; }
  core::TensorMap state() const override;
  void load_state(const core::TensorMap& state) override;
  std::map<std::string, std::string> hyperparameters() const override;
  std::string backbone_fingerprint() const override;
  void set_classnames(const std::vector<std::string>& classnames) override;

  void to(const at::Device& device) override;
  // engine::search_linear_probe on the features; records the L2 search in the summary.
  nlohmann::json fit(const at::Tensor& train_features, const at::Tensor& train_labels,
                     const at::Tensor& val_features, const at::Tensor& val_labels) override;
  void set_probe(const engine::LinearProbe& probe);
  void set_l2(double l2) { l2_ = l2; }

 private:
  models::Clip clip_;
  std::vector<std::string> classnames_;
  at::Tensor weight_, bias_;
  double l2_ = 0;
};

}  // namespace vlprompt::prompts
