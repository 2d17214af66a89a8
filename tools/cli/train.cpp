// vlprompt train: learn a delta (or fit a baseline) on K shots per class, select on val, report
// on test beside the dataset's hand-written prompt. Resumable: --resume RUN_DIR. What the data
// are (features or images in the loop) follows from the method's declared needs.
#include <filesystem>
#include <iostream>

#include "clip_data/run_data.h"
#include "datasets/run_splits.h"
#include "prompts/registry.h"
#include "prompts/run_config.h"
#include "src/core/device.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/delta/delta_file.h"
#include "src/engine/run_outputs.h"
#include "src/engine/train_config.h"
#include "src/engine/trainer.h"
#include "tools/cli/command.h"
#include "tools/pipeline/cli_checks.h"
#include "tools/pipeline/domain_adaptation.h"
#include "tools/pipeline/evaluation.h"
#include "tools/pipeline/resume_args.h"
#include "tools/pipeline/text_runs.h"

namespace vlprompt::cli {
namespace {

using pipeline::TrainArgs;

// Trains with the engine's Trainer; records the run's training summary in results["training"].
// False when Ctrl-C stopped it (the checkpoint is kept).
bool train_method(engine::Method& method, const TrainArgs& a, bool resumed,
                  const core::ResolvedConfig& config, const at::Device& device, models::Clip& clip,
                  const datasets::RunSplits& splits, const engine::SplitFeatures& val,
                  const pipeline::TargetData* target, std::vector<engine::EpochRecord>* history,
                  nlohmann::json* results) {
  engine::TrainDataRequest request;
  request.augment = !a.no_augment;
  request.aug_views = a.aug_views;
  request.seed = a.seed;
  request.batch_size = a.eval_batch_size;
  engine::TrainDataChoice train =
      engine::make_train_data(method.data_needs(), method.name(), clip, splits.train, request);
  auto val_data =
      engine::make_eval_data(method.data_needs(), clip, splits.val, val, a.eval_batch_size);
  if (target) {
    // The labelled copy goes to reports only; training sees target.unlabelled (labels -1).
    engine::FeatureOptions fo;
    fo.batch_size = a.eval_batch_size;
    const engine::SplitFeatures reference = engine::encode_split(clip, target->reference, fo);
    method.set_unlabelled_reference(engine::make_eval_data(
        method.data_needs(), clip, target->reference, reference, a.eval_batch_size));
    train.data = pipeline::pair_with_target(
        std::move(train.data), method, clip, *target, request,
        core::read_config<engine::TrainConfig>(config, "train").target_batch_size, a.seed);
    val_data = pipeline::source_val(std::move(val_data), method, *target);
    train.kind += "; unlabelled target " + a.target + " beside each batch";
  }
  engine::Trainer trainer(engine::make_trainer_options(config, a.out, device));
  const engine::TrainResult r = resumed ? trainer.resume(method, *train.data, val_data.get())
                                        : trainer.fit(method, *train.data, val_data.get());
  if (r.status == engine::TrainStatus::kInterrupted) return false;
  method.load_state(r.final_state);
  *history = r.history;
  (*results)["training"] = {{"epochs", r.epochs_completed},
                            {"selected_epoch", r.selected_epoch},
                            {"best_epoch", r.best_epoch},
                            {"best_val_top1", r.best_val_top1},
                            {"train_data", train.kind},
                            {"resumed", resumed},
                            {"final_loss", history->empty() ? 0.0 : history->back().loss}};
  // What the final state was selected on: never the test set (the reference DAPL code picks its
  // best epoch on the target test set; we do not).
  const bool best_val = trainer.options().select() == engine::Select::kBestVal;
  (*results)["training"]["selected"] = engine::select_name(trainer.options().select());
  (*results)["training"]["selected_on"] =
      best_val ? "the labelled val split of " + a.dataset + " (top-1)"
               : "nothing: the last epoch (no test or target data is used to select)";
  return true;
}

int run_train(TrainArgs a, const std::vector<std::string>& given_options) {
  const bool resumed = !a.resume.empty();
  if (resumed) {
    const std::string run = a.resume;
    const TrainArgs given = a;
    a = pipeline::read_run_json(run + "/run.json");
    pipeline::check_resume_arguments(given, given_options, a, run, run + "/run.json");
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
  const core::ResolvedConfig config =
      resumed ? prompts::read_resolved_config(a.out + "/config.yaml", a.method)
              : prompts::resolve_run_config(
                    {a.method, a.dataset, a.shots, a.seed, a.config_file, a.overrides});
  if (prompts::is_lm_method(a.method)) {
    if (!resumed) {
      core::atomic_write(a.out + "/run.json", a.to_json().dump(2) + "\n");
      core::atomic_write(a.out + "/config.yaml", core::dump_config(config));
    }
    return pipeline::train_text(a, config, resumed);
  }
  if (a.freeze_init && a.init_delta.empty()) {
    throw Error("train: --freeze-init needs --init-delta (the delta to hold fixed)");
  }
  if (!resumed) {
    core::atomic_write(a.out + "/run.json", a.to_json().dump(2) + "\n");
    core::atomic_write(a.out + "/config.yaml", core::dump_config(config));
  }
  const at::Device device = core::parse_device(a.device);
  pipeline::ModelBundle m = pipeline::load_model_bundle(a.model);
  models::Clip& clip = m.clip.model;
  const datasets::RunSplits splits =
      datasets::load_run_splits(a.dataset, a.data_root, a.shots, a.seed, a.subsample, a.out);
  for (const auto& w : splits.warnings) std::cerr << "[vlprompt] warning: " << w << "\n";
  std::unique_ptr<pipeline::TargetData> target;
  if (!a.target.empty()) {
    target = std::make_unique<pipeline::TargetData>(pipeline::load_target(a, splits.train));
    std::cerr << "[vlprompt] domain adaptation " << target->domains[0] << " -> "
              << target->domains[1] << ": " << target->unlabelled.items.size()
              << " unlabelled target images, target test " << target->test.items.size() << "\n";
  }
  const datasets::DatasetSplit& test_split = target ? target->test : splits.test;
  std::cerr << "[vlprompt] " << a.shots << "-shot " << a.subsample << ": train "
            << splits.train.items.size() << ", val " << splits.val.items.size() << ", test "
            << splits.test.items.size() << " images, " << splits.train.classnames.size()
            << " classes\n";

  prompts::MethodContext context{clip, m.tokenizer, splits.train.classnames, a.seed,
                                 splits.train.template_text};
  if (target) context.domains = target->domains;
  std::unique_ptr<engine::Method> method =
      a.init_delta.empty()
          ? prompts::make_method(a.method, config, context)
          : prompts::make_method_on(a.init_delta, a.method, config, context, a.freeze_init);
  engine::FeatureOptions fo;
  fo.batch_size = a.eval_batch_size;
  // The hand-written baseline is always scored on cached test features; val features feed
  // text-side methods (and fitted baselines).
  const engine::SplitFeatures test = engine::encode_split(clip, test_split, fo);
  const engine::SplitFeatures val = engine::encode_split(clip, splits.val, fo);

  nlohmann::json results = pipeline::run_header(a, method->name(), m, splits);
  std::vector<engine::EpochRecord> history;
  if (auto* fitted = dynamic_cast<prompts::FittedMethod*>(method.get())) {
    const engine::SplitFeatures train = engine::encode_split(clip, splits.train, fo);
    results["training"] = fitted->fit(train.features, train.labels, val.features, val.labels);
    results["training"]["train_data"] = "center-view features";
  } else if (!train_method(*method, a, resumed, config, device, clip, splits, val, target.get(),
                           &history, &results)) {
    std::cerr << "[vlprompt] interrupted; continue with: vlprompt train --resume " << a.out << "\n";
    return 130;
  }
  results["hyperparameters"] = method->hyperparameters();
  method->set_training(false);
  if (target) {
    results["domain_adaptation"] = {
        {"source", a.dataset},
        {"target", a.target},
        {"domains", target->domains},
        {"unlabelled_target_images", target->unlabelled.items.size()},
        {"test",
         a.target + " test split, classified with the prompts of domain " + target->domains[1]},
        {"target_labels_read_by_training", false}};
    results["n"]["test"] = target->test.items.size();
    results["title"] = results.value("title", std::string()) + " -> " + a.target;
  }
  auto test_data =
      engine::make_eval_data(method->data_needs(), clip, test_split, test, a.eval_batch_size);
  pipeline::evaluate_against_manual(*method, *test_data, m, test_split, test, device, &results);
  delta::DeltaFileInfo info = prompts::delta_info(
      *method, clip, m.vocab_path, splits.train.classnames, splits.train.template_text);
  info.training = pipeline::training_record(results);
  delta::write_delta(a.out + "/delta.safetensors", method->state(), info);
  engine::write_run_outputs(a.out, results, history);
  engine::append_log(a.out, pipeline::summary_lines(results));
  for (const auto& l : pipeline::summary_lines(results)) std::cout << l << "\n";
  return 0;
}

Runner setup_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  app.add_option("--method", a->method,
                 "a registered method (vlprompt methods), or deltas joined by '+' (coop+vpt)");
  pipeline::add_model_options(app, a->model);
  app.get_option("--model")->required(false);
  app.add_option("--dataset", a->dataset,
                 "catalog name, image folder, or (text LMs) a folder of train/test "
                 ".jsonl/.tsv/.csv files");
  app.add_option("--data-root", a->data_root, "where the dataset's files are");
  app.add_option("--shots", a->shots, "training images per class")
      ->default_val(16)
      ->check(pipeline::at_least(1));
  app.add_option("--seed", a->seed, "run seed: shots, shuffling, augmentation, init")
      ->default_val(1);
  app.add_option("--subsample", a->subsample, "classes: all | base | new")->default_val("all");
  app.add_option("--config", a->config_file, "YAML layered over the method's defaults");
  app.add_option("--out", a->out, "run folder");
  app.add_option("--resume", a->resume, "continue the run in this folder from its checkpoint");
  app.add_option("--device", a->device, "cpu | cuda | cuda:N")->default_val("cpu");
  app.add_option("--init-delta", a->init_delta,
                 "stack --method's deltas on this trained delta (its members come first)")
      ->check(CLI::ExistingFile);
  app.add_flag("--freeze-init", a->freeze_init,
               "keep the --init-delta members fixed: a sequential combination");
  app.add_flag("--no-augment", a->no_augment, "train on cached center-view image features");
  app.add_option("--aug-views", a->aug_views,
                 "encode K augmented views per image once and sample among them")
      ->default_val(0)
      ->check(pipeline::at_least(0));
  app.add_option("--eval-batch-size", a->eval_batch_size)
      ->default_val(64)
      ->check(pipeline::at_least(1));
  app.add_option("--target", a->target,
                 "domain adaptation (dapl): the unlabelled target dataset; its labels are never "
                 "read by training, and the run is tested on its test split");
  app.add_option("--target-data-root", a->target_data_root,
                 "where --target lives (default: "
                 "--data-root)");
  app.add_option("--target-max", a->target_max,
                 "use at most this many target train images (a seeded subset; 0 = all)")
      ->default_val(0);
  app.add_option("--task", a->task,
                 "text LMs: classify (rank classification through label words) | lm (causal LM "
                 "on completions)")
      ->default_val("classify");
  app.add_option("overrides", a->overrides, "key=value config overrides (optim.lr=0.01)");
  app.footer(
      "Example:\n  vlprompt train --method coop --model ViT-B-16.pt --dataset fashion_mnist "
      "--shots 16 --seed 1 --out runs/coop-16-1\n  vlprompt train --resume runs/coop-16-1");
  return [a, app = &app] {
    std::vector<std::string> given;
    for (const CLI::Option* option : app->get_options()) {
      if (option->count() > 0) given.push_back(option->get_name());
    }
    return run_train(*a, given);
  };
}

}  // namespace

VLPROMPT_COMMAND(train, "learn a delta on K shots per class (resumable)", setup_train);

}  // namespace vlprompt::cli
