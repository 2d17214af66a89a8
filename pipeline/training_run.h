// One run orchestrator for every kind of `vlprompt train`: a delta on a frozen CLIP or on a frozen
// LLaMA-family LM. run_training() owns what every run does the same way: run.json and the
// resolved config.yaml, resume from the checkpoint, exit status 130 on Ctrl-C, the results'
// training record, the delta file, results.json, the log and the summary. A TrainingRun says only
// what differs between the kinds: how the model, data and method are made, what the learned delta
// is compared with, and what its delta file records.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/train_args.h"
#include "src/core/config.h"
#include "src/engine/method.h"
#include "src/engine/train_data.h"
#include "src/engine/trainer.h"

namespace vlprompt::pipeline {

class TrainingRun {
 public:
  virtual ~TrainingRun() = default;

  // results.json's header: command, title, method, dataset, model, split sizes.
  virtual nlohmann::json results_header() const = 0;
  virtual engine::Method& method() = 0;
  // A method fitted in closed form (the linear probe) returns its training record and skips the
  // Trainer; every other method returns nullopt.
  virtual std::optional<nlohmann::json> fit() { return std::nullopt; }
  // Once the delta is trained (or fitted), before its hyper-parameters are recorded and before
  // test: what is chosen on val beside the trainer's epoch selection (Tip-Adapter's alpha and
  // beta), recorded in `results`. Nothing by default.
  virtual void after_training(nlohmann::json* results) {}
  virtual engine::TrainData& train_data() = 0;
  virtual engine::EvalData* val_data() = 0;  // null: nothing to validate on
  // What the training batches are ("10 augmented views per image, encoded once"); "" says nothing.
  virtual std::string train_data_kind() const { return ""; }
  // Refuses trainer settings this kind cannot honour (Error naming the key).
  virtual void check_trainer(const engine::TrainerOptions& options) const {}
  // The trained method (in eval mode) on the test split beside its baseline: results["test"],
  // results["comparison"] and what else the kind reports.
  virtual void evaluate(nlohmann::json* results) = 0;
  // Writes the trained delta with what the run's results say about it.
  virtual void write_delta(const std::string& path, const nlohmann::json& results) = 0;
  virtual std::vector<std::string> summary_lines(const nlohmann::json& results) const = 0;
};

// Resolves a fresh run's arguments or a resumed one's (`args.resume` set: RUN/run.json, checked
// against the options the user gave beside --resume, `given_options`), writes run.json and
// config.yaml for a fresh run, and trains the run the method's model kind makes. 0 when done, 130
// when Ctrl-C stopped training (the checkpoint is kept; `--resume` continues it).
int train(TrainArgs args, const std::vector<std::string>& given_options);

// The orchestration alone, for a run already made: train (or resume) `run` with the config's
// trainer into `args.out`, evaluate, write delta.safetensors, results.json, metrics and the log.
// `collective`: the data-parallel group this process trains in (null: one process).
int run_training(TrainingRun& run, const TrainArgs& args, const core::ResolvedConfig& config,
                 bool resumed, std::shared_ptr<engine::Collective> collective = nullptr);

}  // namespace vlprompt::pipeline
