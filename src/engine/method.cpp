#include "src/engine/method.h"

#include "src/core/error.h"

namespace vlprompt::engine {

at::Tensor Method::loss(const at::Tensor& logits, const Batch& batch) {
  return at::cross_entropy_loss(logits, batch.labels.to(logits.device()));
}

void Method::set_classnames(const std::vector<std::string>& classnames) {
  throw Error("method '" + name() + "' cannot be applied to another class list");
}

}  // namespace vlprompt::engine
