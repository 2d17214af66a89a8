// Where the Trainer gets its batches. The engine never sees a dataset: a caller adapts its images,
// cached features or anything else to these two interfaces.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "src/engine/method.h"

namespace vlprompt::engine {

// The batch's tensors on `device` (non-blocking where the copy allows it).
Batch to_device(const Batch& batch, const at::Device& device);

// The training split, sampled by index. The Trainer shuffles the indices itself.
class TrainData {
 public:
  virtual ~TrainData() = default;
  virtual int64_t size() const = 0;
  // The samples at `indices` (each in [0, size())) as one batch. `epoch` (0-based) is there so
  // random augmentation can seed itself from (epoch, index): a resumed run then sees the very
  // same views without saving any generator state.
  virtual Batch batch(const std::vector<int64_t>& indices, int64_t epoch) = 0;
  // Rows [begin, end) of the batch at `indices`, exactly as batch(indices, epoch) would hold them
  // (a data-parallel rank's shard). By default the shard's own batch: right for sources whose
  // samples do not depend on the rest of the batch; one that draws per batch overrides it.
  virtual Batch batch_shard(const std::vector<int64_t>& indices, int64_t epoch, int64_t begin,
                            int64_t end) {
    return batch(std::vector<int64_t>(indices.begin() + begin, indices.begin() + end), epoch);
  }
};

// A fixed sequence of evaluation batches (val or test), in a fixed order.
class EvalData {
 public:
  virtual ~EvalData() = default;
  virtual int64_t num_batches() const = 0;
  virtual Batch batch(int64_t index) = 0;
};

// Tensors already in memory (e.g. cached frozen features, or a test's toy data), usable both as
// a training split and as evaluation batches of `eval_batch_size`.
class TensorData : public TrainData, public EvalData {
 public:
  // inputs [N, ...], labels [N] int64; Error naming the shapes when they disagree.
  TensorData(at::Tensor inputs, at::Tensor labels, bool inputs_are_features,
             int64_t eval_batch_size = 256);

  int64_t size() const override { return labels_.size(0); }
  Batch batch(const std::vector<int64_t>& indices, int64_t epoch) override;
  int64_t num_batches() const override;
  Batch batch(int64_t index) override;

 private:
  at::Tensor inputs_, labels_;
  bool inputs_are_features_;
  int64_t eval_batch_size_;
};

}  // namespace vlprompt::engine
