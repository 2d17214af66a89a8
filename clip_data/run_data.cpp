#include "clip_data/run_data.h"

#include "clip_data/image_data.h"
#include "src/core/error.h"

namespace vlprompt::clip_data {
namespace {

// The split's images decoded once into the prepared store under `cache`, keyed by their sources.
image::PreparedStore prepared_store(const datasets::DatasetSplit& split, const std::string& cache) {
  const auto sources = prepared_sources(split);
  const std::string store_path =
      cache + "/prepared/" +
      image::PreparedStore::source_hash(sources, image::PreparedStore::kDefaultMaxShortSide) +
      ".safetensors";
  return image::PreparedStore::build(sources, store_path);
}

}  // namespace

TrainDataChoice make_train_data(const engine::DataNeeds& needs, const std::string& method,
                                models::Clip& clip, const datasets::DatasetSplit& train,
                                const TrainDataRequest& r) {
  const int64_t resolution = clip->config().vision.image_resolution;
  if (needs.images_in_loop && r.aug_views > 0) {
    throw Error("--aug-views " + std::to_string(r.aug_views) + " cannot serve " + method +
                ": its image-side sites change the image features, so views encoded once by the "
                "frozen tower would train it without itself; drop --aug-views (images are then "
                "augmented in the loop) or use --no-augment");
  }
  TrainDataChoice out;
  if (!r.augment) {
    if (needs.images_in_loop) {
      out.kind = "center-view images (no augmentation), image tower in the loop";
      std::vector<int64_t> labels;
      for (const auto& it : train.items) labels.push_back(it.label);
      out.data = std::make_unique<engine::TensorData>(
          load_clip_images(train.items, resolution, false, nullptr, nullptr),
          at::tensor(labels, at::kLong), /*inputs_are_features=*/false, r.batch_size);
      return out;
    }
    out.kind = "center-view features (no augmentation)";
    FeatureOptions fo;
    fo.batch_size = r.batch_size;
    const SplitFeatures f = encode_split(clip, train, fo);
    out.data = std::make_unique<engine::TensorData>(f.features, f.labels, true);
    return out;
  }
  const std::string cache = default_cache_dir();
  image::PreparedStore store = prepared_store(train, cache);
  const at::Tensor labels = split_labels(train);
  if (r.aug_views > 0) {
    out.kind = std::to_string(r.aug_views) + " augmented views per image, encoded once";
    const at::Tensor views =
        encode_augmented_views(clip, store, r.aug_views, r.seed, r.batch_size, cache);
    out.data = std::make_unique<AugmentedViewsData>(views, labels, r.seed);
    return out;
  }
  out.kind = "augmented images (random resized crop + flip), image tower in the loop";
  out.data = std::make_unique<AugmentedImageData>(std::move(store), labels, resolution, r.seed);
  return out;
}

at::Tensor encode_split_views(models::Clip& clip, const datasets::DatasetSplit& split,
                              int64_t views, uint64_t seed, int64_t batch_size,
                              const image::AugmentOptions& augment) {
  const std::string cache = default_cache_dir();
  return encode_augmented_views(clip, prepared_store(split, cache), views, seed, batch_size, cache,
                                augment);
}

std::unique_ptr<engine::EvalData> make_eval_data(const engine::DataNeeds& needs, models::Clip& clip,
                                                 const datasets::DatasetSplit& split,
                                                 const SplitFeatures& features,
                                                 int64_t batch_size) {
  if (needs.images_in_loop) {
    return std::make_unique<ImageEvalData>(split, clip->config().vision.image_resolution,
                                           batch_size);
  }
  return std::make_unique<engine::TensorData>(features.features, features.labels, true, batch_size);
}

}  // namespace vlprompt::clip_data
