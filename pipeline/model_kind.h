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

// The kind a registered method, or a stack of them joined by '+', trains on (registry's say); for
// a method that trains on either (LoRA, adapters, ...), the kind of `model` (--model): a Hugging
// Face folder or a shipped LM's name is an LM, anything else CLIP.
const ModelKind& model_kind_of_method(const std::string& method, const std::string& model = "");
// Whether --model names a LLaMA-family LM (a folder holding config.json, or a shipped LM).
bool names_llama_model(const std::string& model);
// The kind a delta file was trained on, from the method its metadata names.
const ModelKind& model_kind_of(const delta::DeltaFile& file);

}  // namespace vlprompt::pipeline
