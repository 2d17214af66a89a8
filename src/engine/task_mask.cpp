#include "src/engine/task_mask.h"

#include <limits>

#include "src/core/error.h"

namespace vlprompt::engine {

at::Tensor mask_logits(const at::Tensor& logits, const std::vector<int64_t>& allowed) {
  const int64_t classes = logits.size(-1);
  if (allowed.empty()) throw Error("class mask: no class is allowed");
  at::Tensor keep = at::zeros({classes}, at::TensorOptions(logits.device()).dtype(at::kBool));
  for (int64_t c : allowed) {
    if (c < 0 || c >= classes) {
      throw Error("class mask: class " + std::to_string(c) + " is outside the logits' " +
                  std::to_string(classes) + " classes");
    }
  }
  keep.index_fill_(0, at::tensor(allowed, at::kLong).to(logits.device()), true);
  return logits.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
}

void TaskMaskedMethod::set_masks(std::vector<int64_t> train, std::vector<int64_t> eval) {
  train_ = std::move(train);
  eval_ = std::move(eval);
}

at::Tensor TaskMaskedMethod::forward(const Batch& batch) {
  const std::vector<int64_t>& allowed = training_ ? train_ : eval_;
  const at::Tensor logits = inner_.forward(batch);
  return allowed.empty() ? logits : mask_logits(logits, allowed);
}

void TaskMaskedMethod::set_training(bool training) {
  training_ = training;
  inner_.set_training(training);
}

}  // namespace vlprompt::engine
