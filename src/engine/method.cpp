#include "src/engine/method.h"

#include "src/core/error.h"

namespace vlprompt::engine {

at::Tensor Method::loss(const at::Tensor& logits, const Batch& batch) {
  return at::cross_entropy_loss(logits, batch.labels.to(logits.device()));
}

StepOutput Method::train_step(const Batch& batch, const std::string& where) {
  const at::Tensor logits = forward(batch);
  const at::Tensor loss = this->loss(logits, batch);
  if (loss.numel() != 1 || !loss.requires_grad()) {
    throw Error(name() + ": the loss at " + where + " must be one number that depends " +
                "on the trainable parameters; got shape " + c10::str(loss.sizes()) +
                (loss.requires_grad() ? "" : " without grad"));
  }
  loss.backward();
  return {loss.detach(), logits.detach()};
}

void Method::set_domain(const std::string& domain) {
  throw Error("method '" + name() +
              "' has no per-domain prompts, so it cannot classify as domain '" + domain +
              "' (only domain-adaptation methods such as dapl have domains)");
}

void Method::set_classnames(const std::vector<std::string>& classnames) {
  throw Error("method '" + name() + "' cannot be applied to another class list");
}

}  // namespace vlprompt::engine
