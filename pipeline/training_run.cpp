#include "pipeline/training_run.h"

#include <iostream>

#include "pipeline/continual_run.h"
#include "pipeline/model_kind.h"
#include "pipeline/resume_args.h"
#include "prompts/run_config.h"
#include "src/core/device.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/distributed/process_group.h"
#include "src/engine/run_outputs.h"
#include "src/engine/train_config.h"

namespace vlprompt::pipeline {
namespace {

// Trains `run` with the engine's Trainer; results["training"] says how. False when Ctrl-C stopped
// it (the checkpoint is kept).
bool train_with_trainer(TrainingRun& run, const TrainArgs& a, const core::ResolvedConfig& config,
                        bool resumed, std::shared_ptr<engine::Collective> collective,
                        std::vector<engine::EpochRecord>* history, nlohmann::json* results) {
  engine::Method& method = run.method();
  // A delta sized to nothing (n_virtual=0 is the plain model) would fail on the loss's shape.
  int64_t trainable = 0;
  for (const auto& p : method.trainable_parameters()) trainable += p.numel();
  if (trainable == 0)
    throw Error(method.name() +
                ": these options leave nothing to train (0 trainable values; n_virtual=0 is the "
                "plain model, whose results the zero-shot / zero-prompt baseline already reports)");
  engine::TrainData& train = run.train_data();
  engine::EvalData* val = run.val_data();
  engine::Trainer trainer(engine::make_trainer_options(config, a.out, core::parse_device(a.device))
                              .collective(collective));
  run.check_trainer(trainer.options());
  const engine::TrainResult r =
      resumed ? trainer.resume(method, train, val) : trainer.fit(method, train, val);
  if (r.status == engine::TrainStatus::kInterrupted) return false;
  method.load_state(r.final_state);
  *history = r.history;
  nlohmann::json& record = (*results)["training"];
  record = {{"epochs", r.epochs_completed},
            {"selected_epoch", r.selected_epoch},
            {"best_epoch", r.best_epoch},
            {"best_val_top1", r.best_val_top1},
            {"resumed", resumed},
            {"final_loss", history->empty() ? 0.0 : history->back().loss}};
  if (!run.train_data_kind().empty()) record["train_data"] = run.train_data_kind();
  if (collective) record["world_size"] = collective->world_size();
  // What the final state was selected on: never the test set (the reference DAPL code picks its
  // best epoch on the target test set; we do not).
  const bool best_val = trainer.options().select() == engine::Select::kBestVal;
  record["selected"] = engine::select_name(trainer.options().select());
  record["selected_on"] =
      best_val ? "the labelled val split of " + a.dataset + " (top-1)"
               : "nothing: the last epoch (no test or target data is used to select)";
  return true;
}

}  // namespace

int run_training(TrainingRun& run, const TrainArgs& a, const core::ResolvedConfig& config,
                 bool resumed, std::shared_ptr<engine::Collective> collective) {
  nlohmann::json results = run.results_header();
  std::vector<engine::EpochRecord> history;
  if (std::optional<nlohmann::json> fitted = run.fit()) {
    results["training"] = *fitted;
  } else if (!train_with_trainer(run, a, config, resumed, collective, &history, &results)) {
    std::cerr << "[vlprompt] interrupted; continue with: vlprompt train --resume " << a.out << "\n";
    return 130;
  }
  run.after_training(&results);
  engine::Method& method = run.method();
  results["hyperparameters"] = method.hyperparameters();
  method.set_training(false);
  run.evaluate(&results);
  run.write_delta(a.out + "/delta.safetensors", results);
  engine::write_run_outputs(a.out, results, history);
  const std::vector<std::string> summary = run.summary_lines(results);
  engine::append_log(a.out, summary);
  for (const auto& l : summary) std::cout << l << "\n";
  return 0;
}

int train(TrainArgs a, const std::vector<std::string>& given_options) {
  // torchrun's variables (or --nproc): join the group; rank r > 0 keeps its mirror of the run (the
  // same state, step for step) in RUN/ranks/rank-r, so only rank 0 writes the run folder itself.
  std::shared_ptr<engine::Collective> collective;
  if (const auto env = distributed::launch_environment(); env && env->world_size > 1) {
    collective = distributed::join_group(*env, std::chrono::seconds(300));
    if (a.tasks > 0) {
      throw Error("train --tasks runs in one process for now; drop --nproc / the launch variables");
    }
    if (env->rank > 0) {
      const std::string mirror = "/ranks/rank-" + std::to_string(env->rank);
      if (!a.resume.empty()) a.resume += mirror;
      if (!a.out.empty()) a.out += mirror;
    }
  }
  const bool resumed = !a.resume.empty();
  if (resumed) {
    const std::string run = a.resume;
    const TrainArgs given = a;
    a = read_run_json(run + "/run.json");
    check_resume_arguments(given, given_options, a, run, run + "/run.json");
    a.resume = run;
    a.out = run;
  } else {
    if (a.method.empty() || a.out.empty() || a.dataset.empty() || a.model.model.empty()) {
      throw Error(
          "train: --method, --model, --dataset and --out are required (or --resume RUN_DIR); "
          "`vlprompt methods` lists the methods");
    }
    if (core::file_exists(a.out + "/checkpoint/checkpoint.json")) {
      throw Error(a.out + " already holds a run; continue it with --resume " + a.out +
                  ", or choose another --out");
    }
  }
  if (a.freeze_init && a.init_delta.empty()) {
    throw Error("train: --freeze-init needs --init-delta (the delta to hold fixed)");
  }
  const core::ResolvedConfig config =
      resumed ? prompts::read_resolved_config(a.out + "/config.yaml", a.method)
              : prompts::resolve_run_config({a.method, a.dataset, a.shots, a.seed, a.config_file,
                                             a.overrides, names_llama_model(a.model.model)});
  if (!resumed) {
    core::atomic_write(a.out + "/run.json", a.to_json().dump(2) + "\n");
    core::atomic_write(a.out + "/config.yaml", core::dump_config(config));
  }
  if (a.tasks > 0) return train_continual(a, config, resumed);
  const std::unique_ptr<TrainingRun> run =
      model_kind_of_method(a.method, a.model.model).make_training_run(a, config);
  return run_training(*run, a, config, resumed, collective);
}

}  // namespace vlprompt::pipeline
