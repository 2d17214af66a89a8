// CoOp as a trainable engine::Method: frozen CLIP image features against the text features of
// CoOp's learned prompts; only the context vectors train. Registered as "coop".
#pragma once

#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "prompts/coop.h"
#include "src/delta/delta_file.h"
#include "src/engine/method.h"

namespace vlprompt::prompts {

class CoOpMethod : public engine::Method {
 public:
  CoOpMethod(models::Clip clip, CoOp coop);

  std::string name() const override { return "coop"; }
  // Image features: batch.inputs when inputs_are_features, else the frozen image tower (no
  // gradient); logits = clip->logits(image, CoOp's text features) [B, num_classes].
  at::Tensor forward(const engine::Batch& batch) override;
  std::vector<at::Tensor> trainable_parameters() override;  // {ctx}
  core::TensorMap state() const override;                   // {"coop.ctx"}
  void load_state(const core::TensorMap& state) override;
  // Out of training, text features are fixed between batches: they are computed once and kept
  // until training resumes, the state is loaded or the classes change.
  void set_training(bool training) override;

  // Cross-dataset transfer: evaluate on another class list (unified context only).
  void set_classnames(const std::vector<std::string>& classnames) override;
  std::map<std::string, std::string> hyperparameters() const override;
  std::string backbone_fingerprint() const override;

  // What the delta file records, apart from tokenizer, template and training summary.
  delta::DeltaFileInfo delta_info() const;

  CoOp& coop() { return coop_; }
  models::Clip& clip() { return clip_; }

 private:
  at::Tensor text_features();

  models::Clip clip_;
  CoOp coop_;
  bool training_ = true;
  at::Tensor cached_text_;
};

}  // namespace vlprompt::prompts
