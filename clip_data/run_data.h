// Which data a run feeds a method, from what the method declares it needs (Method::data_needs)
// and what the user asked for. Text-side methods train on augmented images, on K augmented views
// encoded once, or on center-view features, and are validated and tested on cached features;
// methods with image-side sites see images in training, validation and test alike, and a request
// that would hand them features (--aug-views) is an error saying why.
#pragma once

#include <memory>
#include <string>

#include "clip_data/feature_cache.h"
#include "datasets/dataset.h"
#include "models/clip/clip_model.h"
#include "src/engine/method.h"
#include "src/engine/train_data.h"
#include "src/image/augment.h"

namespace vlprompt::clip_data {

struct TrainDataRequest {
  bool augment = true;      // false: the center view only (--no-augment)
  int64_t aug_views = 0;    // > 0: encode this many augmented views once (--aug-views)
  uint64_t seed = 1;        // augmentation seed (the run seed)
  int64_t batch_size = 64;  // image-tower batch when encoding
};

struct TrainDataChoice {
  std::unique_ptr<engine::TrainData> data;
  std::string kind;  // one line for logs and results.json
};

TrainDataChoice make_train_data(const engine::DataNeeds& needs, const std::string& method,
                                models::Clip& clip, const datasets::DatasetSplit& train,
                                const TrainDataRequest& request);

// `views` augmented views (`augment`'s crop + flip) of every image of `split` through the frozen
// image tower, [views, N, embed_dim]; the images are decoded into a prepared store and the views
// cached on disk (encode_augmented_views), as --aug-views does for training.
at::Tensor encode_split_views(models::Clip& clip, const datasets::DatasetSplit& split,
                              int64_t views, uint64_t seed, int64_t batch_size,
                              const image::AugmentOptions& augment);

// Val or test batches: the split's cached features, or its images when the method needs them.
std::unique_ptr<engine::EvalData> make_eval_data(const engine::DataNeeds& needs, models::Clip& clip,
                                                 const datasets::DatasetSplit& split,
                                                 const SplitFeatures& features, int64_t batch_size);

}  // namespace vlprompt::clip_data
