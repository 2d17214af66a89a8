#include "clip_data/image_data.h"

#include <algorithm>
#include <iostream>
#include <iterator>

#include "clip_data/feature_cache.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/hash.h"
#include "src/core/safetensors.h"
#include "src/engine/progress.h"
#include "src/image/augment.h"

namespace vlprompt::clip_data {
namespace {

// splitmix64: a cheap, well-mixed function of (seed, epoch, index) for picking views.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::vector<at::Tensor> store_images(const image::PreparedStore& store,
                                     const std::vector<int64_t>& indices) {
  std::vector<at::Tensor> images;
  images.reserve(indices.size());
  for (int64_t i : indices) images.push_back(store.image(i));
  return images;
}

}  // namespace

std::vector<image::PreparedSource> prepared_sources(const datasets::DatasetSplit& split) {
  std::vector<image::PreparedSource> out;
  out.reserve(split.items.size());
  for (const auto& it : split.items) out.push_back({it.path, it.pixels});
  return out;
}

at::Tensor split_labels(const datasets::DatasetSplit& split) {
  std::vector<int64_t> labels;
  for (const auto& it : split.items) labels.push_back(it.label);
  return at::tensor(labels, at::kLong);
}

AugmentedImageData::AugmentedImageData(image::PreparedStore store, at::Tensor labels,
                                       int64_t resolution, uint64_t seed)
    : store_(std::move(store)), labels_(std::move(labels)), resolution_(resolution), seed_(seed) {}

engine::Batch AugmentedImageData::batch(const std::vector<int64_t>& indices, int64_t epoch) {
  // The first index identifies the batch within the epoch (a permutation never repeats it).
  const uint64_t seed = image::augment_seed(seed_, epoch, indices.empty() ? 0 : indices[0]);
  engine::Batch b;
  b.inputs = image::augment_batch(store_images(store_, indices), resolution_, seed);
  b.labels = labels_.index_select(0, at::tensor(indices, at::kLong));
  return b;
}

engine::Batch AugmentedImageData::batch_shard(const std::vector<int64_t>& indices, int64_t epoch,
                                              int64_t begin, int64_t end) {
  const uint64_t seed = image::augment_seed(seed_, epoch, indices.empty() ? 0 : indices[0]);
  engine::Batch b;
  b.inputs = image::augment_batch(store_images(store_, indices), resolution_, seed, {}, begin, end);
  const std::vector<int64_t> mine(indices.begin() + begin, indices.begin() + end);
  b.labels = labels_.index_select(0, at::tensor(mine, at::kLong));
  return b;
}

ImageEvalData::ImageEvalData(datasets::DatasetSplit split, int64_t resolution, int64_t batch_size)
    : split_(std::move(split)), resolution_(resolution), batch_size_(batch_size) {
  if (batch_size_ < 1) throw Error("image eval data: batch size " + std::to_string(batch_size_));
}

int64_t ImageEvalData::num_batches() const {
  const int64_t n = static_cast<int64_t>(split_.items.size());
  return (n + batch_size_ - 1) / batch_size_;
}

engine::Batch ImageEvalData::batch(int64_t index) {
  const int64_t n = static_cast<int64_t>(split_.items.size());
  const int64_t start = index * batch_size_, end = std::min(n, start + batch_size_);
  if (index < 0 || start >= n) {
    throw Error("image eval data: batch " + std::to_string(index) + " of " +
                std::to_string(num_batches()));
  }
  const std::vector<datasets::ImageRecord> items(split_.items.begin() + start,
                                                 split_.items.begin() + end);
  std::vector<int64_t> labels;
  for (const auto& it : items) labels.push_back(it.label);
  engine::Batch b;
  b.inputs = load_clip_images(items, resolution_, /*skip_unreadable=*/false, nullptr, nullptr);
  b.labels = at::tensor(labels, at::kLong);
  return b;
}

AugmentedViewsData::AugmentedViewsData(at::Tensor views, at::Tensor labels, uint64_t seed)
    : views_(std::move(views)), labels_(std::move(labels)), seed_(seed) {}

engine::Batch AugmentedViewsData::batch(const std::vector<int64_t>& indices, int64_t epoch) {
  const int64_t k = views_.size(0);
  std::vector<int64_t> view(indices.size());
  for (size_t j = 0; j < indices.size(); ++j) {
    view[j] = static_cast<int64_t>(mix(seed_ ^ mix(epoch * 1000003ull + indices[j])) % k);
  }
  const at::Tensor idx = at::tensor(indices, at::kLong);
  engine::Batch b;
  b.inputs = views_.index({at::tensor(view, at::kLong), idx});
  b.labels = labels_.index_select(0, idx);
  b.inputs_are_features = true;
  return b;
}

at::Tensor encode_augmented_views(models::Clip& model, const image::PreparedStore& store,
                                  int64_t views, uint64_t seed, int64_t batch_size,
                                  const std::string& cache_dir,
                                  const image::AugmentOptions& augment) {
  const int64_t res = model->config().vision.image_resolution;
  core::Hasher h;
  h.update(model->fingerprint()).update(store.stored_source_hash()).update("aug-views-v1");
  for (int64_t v : {views, static_cast<int64_t>(seed), res}) h.update(&v, sizeof(v));
  const image::AugmentOptions standard;
  const double knobs[] = {augment.scale_min, augment.scale_max, augment.ratio_min,
                          augment.ratio_max, augment.flip_p};
  const double standard_knobs[] = {standard.scale_min, standard.scale_max, standard.ratio_min,
                                   standard.ratio_max, standard.flip_p};
  if (!std::equal(std::begin(knobs), std::end(knobs), std::begin(standard_knobs))) {
    h.update("augment").update(knobs, sizeof(knobs));
  }
  const std::string path = cache_dir + "/aug_views/" + h.hex() + ".safetensors";
  if (core::file_exists(path)) {
    std::cerr << "[vlprompt] augmented views read from cache " << path << "\n";
    return core::read_safetensors(path).tensors.at("views");
  }
  const int64_t n = store.size();
  std::vector<int64_t> all(n);
  for (int64_t i = 0; i < n; ++i) all[i] = i;
  std::vector<at::Tensor> per_view;
  at::NoGradGuard no_grad;
  engine::Progress progress(engine::ProgressMode::kAuto, "[vlprompt] augmented views", views * n,
                            "img");
  for (int64_t v = 0; v < views; ++v) {
    std::vector<at::Tensor> parts;
    for (int64_t s = 0; s < n; s += batch_size) {
      const std::vector<int64_t> idx(all.begin() + s, all.begin() + std::min(n, s + batch_size));
      const at::Tensor px = image::augment_batch(store_images(store, idx), res,
                                                 image::augment_seed(seed, -1 - v, s), augment);
      parts.push_back(model->encode_image(px.to(weights_device(model))).cpu());
      progress.update(v * n + idx.back() + 1,
                      "view " + std::to_string(v + 1) + "/" + std::to_string(views));
    }
    per_view.push_back(at::cat(parts));
  }
  progress.finish();
  const at::Tensor out = at::stack(per_view).contiguous();
  core::write_safetensors(path, {{"views", out}}, {{"backbone_fingerprint", model->fingerprint()}});
  return out;
}

}  // namespace vlprompt::clip_data
