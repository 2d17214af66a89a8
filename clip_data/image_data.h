// Where a run's mini-batches come from, one engine::TrainData / engine::EvalData each:
//   - augmented images: decoded once into a PreparedStore, augmented with torch ops per batch
//     (deterministic per (seed, epoch, batch) so a resumed run sees the same crops);
//   - augmented views: K augmented views of every image encoded once by the frozen image tower,
//     one sampled per (epoch, image): text-side methods then never run the image tower in training;
//   - plain features (--no-augment): the center view, encoded once (engine::TensorData);
//   - split images: the center view of every image, decoded per evaluation batch, for methods
//     whose image-side sites must see the images (ImageEvalData).
#pragma once

#include <memory>
#include <string>

#include "datasets/dataset.h"
#include "models/clip/clip_model.h"
#include "src/engine/train_data.h"
#include "src/image/augment.h"
#include "src/image/prepared_store.h"

namespace vlprompt::clip_data {

std::vector<image::PreparedSource> prepared_sources(const datasets::DatasetSplit& split);
at::Tensor split_labels(const datasets::DatasetSplit& split);

class AugmentedImageData : public engine::TrainData {
 public:
  AugmentedImageData(image::PreparedStore store, at::Tensor labels, int64_t resolution,
                     uint64_t seed);
  int64_t size() const override { return labels_.size(0); }
  engine::Batch batch(const std::vector<int64_t>& indices, int64_t epoch) override;
  // The whole batch's crops and flips are drawn (they follow one generator through the batch),
  // then only rows [begin, end) are decoded and resized.
  engine::Batch batch_shard(const std::vector<int64_t>& indices, int64_t epoch, int64_t begin,
                            int64_t end) override;

 private:
  image::PreparedStore store_;
  at::Tensor labels_;
  int64_t resolution_;
  uint64_t seed_;
};

// A split's images, center-cropped, `batch_size` per batch, decoded when the batch is asked for
// (a test split never sits in memory as pixels). An unreadable image is a FileError naming it.
class ImageEvalData : public engine::EvalData {
 public:
  ImageEvalData(datasets::DatasetSplit split, int64_t resolution, int64_t batch_size);
  int64_t num_batches() const override;
  engine::Batch batch(int64_t index) override;

 private:
  datasets::DatasetSplit split_;
  int64_t resolution_, batch_size_;
};

class AugmentedViewsData : public engine::TrainData {
 public:
  // views: [K, N, D] frozen image features of K augmented views per image.
  AugmentedViewsData(at::Tensor views, at::Tensor labels, uint64_t seed);
  int64_t size() const override { return labels_.size(0); }
  engine::Batch batch(const std::vector<int64_t>& indices, int64_t epoch) override;

 private:
  at::Tensor views_, labels_;
  uint64_t seed_;
};

// Encodes `views` augmented views of every store image -> [K, N, D]; cached on disk under
// `cache_dir` keyed by the backbone fingerprint, the store's source hash, K, seed, resolution
// and `augment` when it is not the default (CoOp's crop; Tip-Adapter's cache crops at area
// scale 0.5 to 1), so files made with the default keep their names.
at::Tensor encode_augmented_views(models::Clip& model, const image::PreparedStore& store,
                                  int64_t views, uint64_t seed, int64_t batch_size,
                                  const std::string& cache_dir,
                                  const image::AugmentOptions& augment = {});

}  // namespace vlprompt::clip_data
