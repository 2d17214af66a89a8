#include "src/engine/method.h"

namespace vlprompt::engine {

at::Tensor Method::loss(const at::Tensor& logits, const Batch& batch) {
  return at::cross_entropy_loss(logits, batch.labels.to(logits.device()));
}

}  // namespace vlprompt::engine
