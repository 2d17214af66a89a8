// Domain adaptation's two streams, as Dassl's TrainerXU draws them: every labelled source batch
// comes with `target_batch_size` unlabelled target rows (Batch::unlabelled). An epoch is the
// source's batches; the target is walked in an order shuffled per epoch, from the start again when
// it runs out. The target rows carry no labels (Batch::labels undefined), whatever the target
// source holds, and every row its domain id (Batch::domains).
#pragma once

#include <memory>

#include "src/engine/train_data.h"

namespace vlprompt::engine {

class PairedTrainData : public TrainData {
 public:
  PairedTrainData(std::unique_ptr<TrainData> source, std::unique_ptr<TrainData> target,
                  int64_t target_batch_size, int64_t source_domain, int64_t target_domain,
                  uint64_t seed);

  int64_t size() const override { return source_->size(); }
  // The trainer asks for an epoch's batches in order; the k-th batch of epoch e pairs with target
  // rows k * target_batch_size ... of that epoch's target order (seeded by (seed, e) alone), so a
  // run resumed at an epoch boundary pairs exactly as an uninterrupted one.
  Batch batch(const std::vector<int64_t>& indices, int64_t epoch) override;

 private:
  std::unique_ptr<TrainData> source_, target_;
  int64_t target_batch_size_, source_domain_, target_domain_;
  uint64_t seed_;
  int64_t epoch_ = -1, drawn_ = 0;  // the epoch being walked and target rows drawn in it
  at::Tensor order_;                // that epoch's target order
};

// Evaluation batches of one domain, each row tagged with its domain id (Batch::domains), so a
// method with per-domain prompts scores them with that domain's (the source's val split).
class DomainEvalData : public EvalData {
 public:
  DomainEvalData(std::unique_ptr<EvalData> data, int64_t domain)
      : data_(std::move(data)), domain_(domain) {}
  int64_t num_batches() const override { return data_->num_batches(); }
  Batch batch(int64_t index) override;

 private:
  std::unique_ptr<EvalData> data_;
  int64_t domain_;
};

}  // namespace vlprompt::engine
