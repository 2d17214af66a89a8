// The two steps of a run whose delta holds a few-shot cache (Tip-Adapter): building the cache
// from the training split's augmented views before training, and choosing the residual's
// hyper-parameters on the val split after it. Kept out of the run orchestration so that a method
// without a cache costs one capability lookup.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "clip_data/feature_cache.h"
#include "datasets/dataset.h"
#include "models/clip/clip_model.h"
#include "src/engine/method.h"

namespace vlprompt::pipeline {

// When `method`'s delta has a FewShotCache that is still empty (a delta loaded from a file, e.g.
// by --init-delta, brings its own): encodes the cache's augmented views of every `train` image
// with the frozen tower (seeded by `seed`, cached on disk), builds the cache, and returns what
// results.json records of it. nullopt otherwise.
std::optional<nlohmann::json> build_few_shot_cache(engine::Method& method, models::Clip& clip,
                                                   const datasets::DatasetSplit& train,
                                                   uint64_t seed, int64_t batch_size);

// The method's LogitResidual chooses its hyper-parameters on `val` (the run's val split; test
// data never reaches this) -> results.json's "val_search", naming the split and its size.
nlohmann::json select_on_val(engine::Method& method, const clip_data::SplitFeatures& val,
                             const std::string& dataset);

// Values the optimizer would update (0: a fitted delta such as training-free Tip-Adapter).
int64_t trainable_values(engine::Method& method);

}  // namespace vlprompt::pipeline
