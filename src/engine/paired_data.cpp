#include "src/engine/paired_data.h"

#include <ATen/CPUGeneratorImpl.h>

#include "src/core/error.h"

namespace vlprompt::engine {

PairedTrainData::PairedTrainData(std::unique_ptr<TrainData> source,
                                 std::unique_ptr<TrainData> target, int64_t target_batch_size,
                                 int64_t source_domain, int64_t target_domain, uint64_t seed)
    : source_(std::move(source)),
      target_(std::move(target)),
      target_batch_size_(target_batch_size),
      source_domain_(source_domain),
      target_domain_(target_domain),
      seed_(seed) {
  if (!source_ || !target_) throw Error("paired data: needs a source and a target stream");
  if (target_->size() < 1) throw Error("paired data: the target stream has no images");
  if (target_batch_size_ < 1) {
    throw Error("paired data: target_batch_size is " + std::to_string(target_batch_size_) +
                ", expected >= 1");
  }
}

Batch PairedTrainData::batch(const std::vector<int64_t>& indices, int64_t epoch) {
  if (epoch != epoch_) {
    epoch_ = epoch;
    drawn_ = 0;
    // Its own stream of seeds, apart from the trainer's shuffle of the source.
    const uint64_t s = seed_ * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(epoch) * 7919ull + 3;
    order_ = at::randperm(target_->size(), at::make_generator<at::CPUGeneratorImpl>(s), at::kLong);
  }
  const int64_t n = target_->size();
  std::vector<int64_t> rows;
  for (int64_t j = 0; j < target_batch_size_; ++j) {
    rows.push_back(order_.data_ptr<int64_t>()[(drawn_ + j) % n]);
  }
  drawn_ += target_batch_size_;
  Batch out = source_->batch(indices, epoch);
  out.domains = at::full({out.labels.size(0)}, source_domain_, at::kLong);
  Batch target = target_->batch(rows, epoch);
  target.labels = at::Tensor();  // unlabelled: whatever the source of the rows held
  target.domains = at::full({static_cast<int64_t>(rows.size())}, target_domain_, at::kLong);
  target.unlabelled = nullptr;
  out.unlabelled = std::make_shared<Batch>(std::move(target));
  return out;
}

Batch DomainEvalData::batch(int64_t index) {
  Batch out = data_->batch(index);
  out.domains = at::full({out.inputs.size(0)}, domain_, at::kLong);
  return out;
}

}  // namespace vlprompt::engine
