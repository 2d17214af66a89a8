// Evaluating a trained method on a test split beside the dataset's hand-written prompt, and the
// records a run keeps about it (results.json sections, delta metadata, summary lines).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "clip_data/feature_cache.h"
#include "datasets/run_splits.h"
#include "pipeline/model_loading.h"
#include "pipeline/train_args.h"
#include "src/engine/method.h"
#include "src/engine/train_data.h"

namespace vlprompt::pipeline {

nlohmann::json model_json(const models::LoadedClip& clip);
nlohmann::json model_json(const ModelBundle& m);
// `method`: the trained method's name (a stack built on --init-delta names all its members).
nlohmann::json run_header(const TrainArgs& a, const std::string& method, const ModelBundle& m,
                          const datasets::RunSplits& splits);

// results["test"] = the method's metrics on `method_data` (its test batches: features or images,
// as it needs); results["zeroshot_manual"] = the dataset template's on the cached `features`;
// results["comparison"] = both as table rows; results["classnames"] = the test classes.
void evaluate_against_manual(engine::Method& method, engine::EvalData& method_data,
                             const ModelBundle& m, const datasets::DatasetSplit& test,
                             const clip_data::SplitFeatures& features, const at::Device& device,
                             nlohmann::json* results);

// What a delta file records about the run that made it (dataset, shots, seed, test top-1, ...).
nlohmann::json training_record(const nlohmann::json& results);

std::vector<std::string> summary_lines(const nlohmann::json& results);

}  // namespace vlprompt::pipeline
