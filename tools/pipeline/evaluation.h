// Evaluating a trained method on a test split beside the dataset's hand-written prompt, and the
// records a run keeps about it (results.json sections, delta metadata, summary lines).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/delta/delta_file.h"
#include "src/engine/method.h"
#include "tools/pipeline/image_features.h"
#include "tools/pipeline/model_loading.h"
#include "tools/pipeline/run_splits.h"
#include "tools/pipeline/train_args.h"

namespace vlprompt::pipeline {

nlohmann::json model_json(const ModelBundle& m);
nlohmann::json run_header(const TrainArgs& a, const ModelBundle& m, const RunSplits& splits);

// Fits the linear probe (L2 searched on val) and records the search in results["training"].
std::unique_ptr<engine::Method> fit_linear_probe_method(
    models::Clip& clip, std::shared_ptr<const text::ClipTokenizer> tokenizer,
    const std::vector<std::string>& classnames, const SplitFeatures& train,
    const SplitFeatures& val, nlohmann::json* results);

// results["test"] = the method's metrics; results["zeroshot_manual"] = the dataset template's;
// results["comparison"] = both as table rows; results["classnames"] = the test classes.
void evaluate_against_manual(engine::Method& method, const ModelBundle& m,
                             const datasets::DatasetSplit& test, const SplitFeatures& features,
                             int64_t batch_size, const at::Device& device, nlohmann::json* results);

delta::DeltaFileInfo delta_info(const engine::Method& method, const ModelBundle& m,
                                const datasets::DatasetSplit& train, const nlohmann::json& results);

std::vector<std::string> summary_lines(const nlohmann::json& results);

}  // namespace vlprompt::pipeline
