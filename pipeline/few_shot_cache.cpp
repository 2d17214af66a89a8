#include "pipeline/few_shot_cache.h"

#include <iostream>

#include "clip_data/image_data.h"
#include "clip_data/run_data.h"
#include "prompts/prompted_clip.h"
#include "src/core/error.h"

namespace vlprompt::pipeline {
namespace {

prompts::PromptedClipMethod* prompted(engine::Method& method) {
  return dynamic_cast<prompts::PromptedClipMethod*>(&method);
}

}  // namespace

std::optional<nlohmann::json> build_few_shot_cache(engine::Method& method, models::Clip& clip,
                                                   const datasets::DatasetSplit& train,
                                                   uint64_t seed, int64_t batch_size) {
  auto* clip_method = prompted(method);
  auto* cache = clip_method ? clip_method->stack()->find<delta::FewShotCache>() : nullptr;
  if (!cache || cache->has_cache()) return std::nullopt;
  image::AugmentOptions augment;
  augment.scale_min = cache->view_scale_min();
  const int64_t views = cache->cache_views();
  std::cerr << "[vlprompt] few-shot cache: " << views << " augmented views of "
            << train.items.size() << " training images\n";
  const at::Tensor features =
      clip_data::encode_split_views(clip, train, views, seed, batch_size, augment);
  cache->build_cache(features, clip_data::split_labels(train),
                     static_cast<int64_t>(clip_method->classnames().size()));
  return nlohmann::json{
      {"images", train.items.size()},
      {"views", views},
      {"views_are", "random resized crop (area " + c10::str(augment.scale_min) +
                        " to 1) + flip, frozen image tower; keys = normalised mean over views"}};
}

nlohmann::json select_on_val(engine::Method& method, const clip_data::SplitFeatures& val,
                             const std::string& dataset) {
  auto* clip_method = prompted(method);
  if (!clip_method) throw Error(method.name() + ": no hyper-parameters to choose on val");
  nlohmann::json record = clip_method->select_on_val(val.features, val.labels);
  record["split"] = "val";
  record["on"] = "the labelled val split of " + dataset + " (top-1); never the test split";
  return record;
}

int64_t trainable_values(engine::Method& method) {
  int64_t n = 0;
  for (const auto& p : method.trainable_parameters()) n += p.numel();
  return n;
}

}  // namespace vlprompt::pipeline
