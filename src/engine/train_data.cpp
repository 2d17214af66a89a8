#include "src/engine/train_data.h"

#include "src/core/error.h"

namespace vlprompt::engine {

Batch to_device(const Batch& batch, const at::Device& device) {
  const auto move = [&](const at::Tensor& t) {
    return t.defined() ? t.to(device, /*non_blocking=*/true) : t;
  };
  Batch out{move(batch.inputs), move(batch.labels), batch.inputs_are_features, move(batch.domains)};
  if (batch.target_mask.defined()) out.target_mask = move(batch.target_mask);
  if (batch.unlabelled)
    out.unlabelled = std::make_shared<Batch>(to_device(*batch.unlabelled, device));
  return out;
}

TensorData::TensorData(at::Tensor inputs, at::Tensor labels, bool inputs_are_features,
                       int64_t eval_batch_size)
    : inputs_(std::move(inputs)),
      labels_(std::move(labels)),
      inputs_are_features_(inputs_are_features),
      eval_batch_size_(eval_batch_size) {
  if (!inputs_.defined() || !labels_.defined() || inputs_.dim() < 1 || labels_.dim() != 1 ||
      inputs_.size(0) != labels_.size(0) || labels_.scalar_type() != at::kLong) {
    throw Error("TensorData expects inputs [N, ...] and int64 labels [N]; got inputs " +
                (inputs_.defined() ? c10::str(inputs_.sizes()) : std::string("undefined")) +
                " and labels " +
                (labels_.defined() ? c10::str(labels_.sizes(), " ", labels_.scalar_type())
                                   : std::string("undefined")));
  }
  if (eval_batch_size < 1) {
    throw Error("TensorData: eval_batch_size must be >= 1, got " + std::to_string(eval_batch_size));
  }
}

Batch TensorData::batch(const std::vector<int64_t>& indices, int64_t /*epoch*/) {
  const at::Tensor index = at::tensor(indices, at::kLong).to(inputs_.device());
  return {inputs_.index_select(0, index), labels_.index_select(0, index.to(labels_.device())),
          inputs_are_features_};
}

int64_t TensorData::num_batches() const {
  return (size() + eval_batch_size_ - 1) / eval_batch_size_;
}

Batch TensorData::batch(int64_t index) {
  if (index < 0 || index >= num_batches()) {
    throw Error("TensorData: batch " + std::to_string(index) + " is outside [0, " +
                std::to_string(num_batches()) + ")");
  }
  const int64_t start = index * eval_batch_size_;
  const int64_t end = std::min(size(), start + eval_batch_size_);
  return {inputs_.slice(0, start, end), labels_.slice(0, start, end), inputs_are_features_};
}

}  // namespace vlprompt::engine
