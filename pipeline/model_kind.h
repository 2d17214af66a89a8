// The one fork between the two kinds of frozen model a delta is trained on: CLIP (image
// classification) and a LLaMA-family LM (text). Each kind says, once, how it trains, evaluates and
// inspects a delta; the subcommands (`train`, `eval`, `inspect`, and through the format registry
// `import` and `export`) find the kind of the method or delta file and call it, with no branch of
// their own.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "pipeline/eval_args.h"
#include "pipeline/training_run.h"
#include "src/delta/delta_file.h"

namespace vlprompt::pipeline {

struct ModelKind {
  const char* name;  // "clip" | "llama"
  std::unique_ptr<TrainingRun> (*make_training_run)(const TrainArgs& args,
                                                    const core::ResolvedConfig& config);
  // `vlprompt eval` of `file` (read from args.delta): writes args.out/results.json; exit status.
  int (*evaluate)(const EvalArgs& args, const delta::DeltaFile& file);
  // `vlprompt inspect --model`: each token-space tensor's nearest vocabulary words per position,
  // the delta rebuilt on the model first (which checks its fingerprint and every shape).
  nlohmann::json (*nearest_words)(const delta::DeltaFile& file, const std::string& path,
                                  const ModelArgs& model, int64_t top_k);
  // `vlprompt inspect` without --model: how the tensors' shapes were checked (or why not).
  std::string (*check_shapes)(const delta::DeltaFile& file, const std::string& path);
};

const ModelKind& clip_kind();
const ModelKind& llama_kind();

// The kind a registered method, or a stack of them joined by '+', trains on (registry's say).
const ModelKind& model_kind_of_method(const std::string& method);
// The kind a delta file was trained on, from the method its metadata names.
const ModelKind& model_kind_of(const delta::DeltaFile& file);

}  // namespace vlprompt::pipeline
