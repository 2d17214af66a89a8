// vlprompt train: learn a delta (or fit the linear-probe baseline) on K shots per class, select
// on val, report on test beside the dataset's hand-written prompt. Resumable: --resume RUN_DIR.
#include <filesystem>
#include <iostream>

#include "prompts/registry.h"
#include "src/core/device.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/delta/delta_file.h"
#include "src/engine/evaluate.h"
#include "src/engine/train_config.h"
#include "src/engine/trainer.h"
#include "tools/cli/command.h"
#include "tools/pipeline/evaluation.h"
#include "tools/pipeline/run_outputs.h"
#include "tools/pipeline/run_splits.h"
#include "tools/pipeline/train_config.h"
#include "tools/pipeline/train_sources.h"

namespace vlprompt::cli {
namespace {

using pipeline::TrainArgs;

std::unique_ptr<engine::TrainData> make_train_data(const TrainArgs& a, models::Clip& clip,
                                                   const datasets::DatasetSplit& train,
                                                   std::string* kind) {
  pipeline::FeatureOptions fo;
  fo.batch_size = a.eval_batch_size;
  if (a.no_augment) {
    *kind = "center-view features (no augmentation)";
    const auto f = pipeline::encode_split(clip, train, fo);
    return std::make_unique<engine::TensorData>(f.features, f.labels, true);
  }
  const std::string cache = pipeline::default_cache_dir();
  const auto sources = pipeline::prepared_sources(train);
  const std::string store_path =
      cache + "/prepared/" +
      image::PreparedStore::source_hash(sources, image::PreparedStore::kDefaultMaxShortSide) +
      ".safetensors";
  image::PreparedStore store = image::PreparedStore::build(sources, store_path);
  const at::Tensor labels = pipeline::split_labels(train);
  if (a.aug_views > 0) {
    *kind = std::to_string(a.aug_views) + " augmented views per image, encoded once";
    const at::Tensor views = pipeline::encode_augmented_views(clip, store, a.aug_views, a.seed,
                                                              a.eval_batch_size, cache);
    return std::make_unique<pipeline::AugmentedViewsData>(views, labels, a.seed);
  }
  *kind = "augmented images (random resized crop + flip), image tower in the loop";
  return std::make_unique<pipeline::AugmentedImageData>(
      std::move(store), labels, clip->config().vision.image_resolution, a.seed);
}

int run_train(TrainArgs a) {
  const bool resumed = !a.resume.empty();
  if (resumed) {
    const std::string run = a.resume;
    a = TrainArgs::from_json(nlohmann::json::parse(core::read_file(run + "/run.json")),
                             run + "/run.json");
    a.resume = run;
    a.out = run;
    a.config_file = run + "/config.yaml";
  } else {
    if (a.out.empty() || a.dataset.empty() || a.model.model.empty()) {
      throw Error("train: --model, --dataset and --out are required (or --resume RUN_DIR)");
    }
    if (core::file_exists(a.out + "/checkpoint/checkpoint.json")) {
      throw Error(a.out + " already holds a run; continue it with --resume " + a.out +
                  ", or choose another --out");
    }
  }
  core::ResolvedConfig config = pipeline::resolve_train_config(a, resumed);
  if (!resumed) {
    core::atomic_write(a.out + "/run.json", a.to_json().dump(2) + "\n");
    core::atomic_write(a.out + "/config.yaml", core::dump_config(config));
  }
  const at::Device device = core::parse_device(a.device);
  pipeline::ModelBundle m = pipeline::load_model_bundle(a.model);
  models::Clip& clip = m.clip.model;
  const pipeline::RunSplits splits =
      pipeline::load_run_splits(a.dataset, a.data_root, a.shots, a.seed, a.subsample, a.out);
  for (const auto& w : splits.warnings) std::cerr << "[vlprompt] warning: " << w << "\n";
  std::cerr << "[vlprompt] " << a.shots << "-shot " << a.subsample << ": train "
            << splits.train.items.size() << ", val " << splits.val.items.size() << ", test "
            << splits.test.items.size() << " images, " << splits.train.classnames.size()
            << " classes\n";

  pipeline::FeatureOptions fo;
  fo.batch_size = a.eval_batch_size;
  const pipeline::SplitFeatures test = pipeline::encode_split(clip, splits.test, fo);
  const pipeline::SplitFeatures val = pipeline::encode_split(clip, splits.val, fo);

  nlohmann::json results = pipeline::run_header(a, m, splits);
  std::vector<engine::EpochRecord> history;
  std::unique_ptr<engine::Method> method;
  if (a.method == "linear-probe") {
    // A baseline fitted in closed loop (L-BFGS per L2 strength), not by the SGD trainer.
    const pipeline::SplitFeatures train = pipeline::encode_split(clip, splits.train, fo);
    method = pipeline::fit_linear_probe_method(clip, m.tokenizer, splits.train.classnames, train,
                                               val, &results);
  } else {
    std::string kind;
    method = prompts::make_method(a.method, pipeline::method_section(config, a.method), clip,
                                  m.tokenizer, splits.train.classnames);
    auto train_data = make_train_data(a, clip, splits.train, &kind);
    engine::TensorData val_data(val.features, val.labels, true, a.eval_batch_size);
    engine::Trainer trainer(engine::make_trainer_options(config, a.out, device));
    const engine::TrainResult r = resumed ? trainer.resume(*method, *train_data, &val_data)
                                          : trainer.fit(*method, *train_data, &val_data);
    if (r.status == engine::TrainStatus::kInterrupted) {
      std::cerr << "[vlprompt] interrupted; continue with: vlprompt train --resume " << a.out
                << "\n";
      return 130;
    }
    method->load_state(r.final_state);
    history = r.history;
    results["training"] = {{"epochs", r.epochs_completed},
                           {"selected_epoch", r.selected_epoch},
                           {"best_epoch", r.best_epoch},
                           {"best_val_top1", r.best_val_top1},
                           {"train_data", kind},
                           {"resumed", resumed},
                           {"final_loss", history.empty() ? 0.0 : history.back().loss}};
  }
  results["hyperparameters"] = method->hyperparameters();
  method->set_training(false);
  pipeline::evaluate_against_manual(*method, m, splits.test, test, a.eval_batch_size, device,
                                    &results);
  delta::DeltaFileInfo info = pipeline::delta_info(*method, m, splits.train, results);
  delta::write_delta(a.out + "/delta.safetensors", method->state(), info);
  pipeline::write_run_outputs(a.out, results, history);
  pipeline::append_log(a.out, pipeline::summary_lines(results));
  for (const auto& l : pipeline::summary_lines(results)) std::cout << l << "\n";
  return 0;
}

Runner setup_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  app.add_option("--method", a->method,
                 "coop | linear-probe (registered methods: vlprompt methods)")
      ->default_val("coop");
  pipeline::add_model_options(app, a->model);
  app.get_option("--model")->required(false);
  app.add_option("--dataset", a->dataset, "catalog name or image folder");
  app.add_option("--data-root", a->data_root, "where the dataset's files are");
  app.add_option("--shots", a->shots, "training images per class")->default_val(16);
  app.add_option("--seed", a->seed, "run seed: shots, shuffling, augmentation, init")
      ->default_val(1);
  app.add_option("--subsample", a->subsample, "classes: all | base | new")->default_val("all");
  app.add_option("--config", a->config_file, "YAML layered over the method's defaults");
  app.add_option("--out", a->out, "run folder");
  app.add_option("--resume", a->resume, "continue the run in this folder from its checkpoint");
  app.add_option("--device", a->device, "cpu | cuda | cuda:N")->default_val("cpu");
  app.add_flag("--no-augment", a->no_augment, "train on cached center-view image features");
  app.add_option("--aug-views", a->aug_views,
                 "encode K augmented views per image once and sample among them")
      ->default_val(0);
  app.add_option("--eval-batch-size", a->eval_batch_size)->default_val(64);
  app.add_option("overrides", a->overrides, "key=value config overrides (optim.lr=0.01)");
  app.footer(
      "Example:\n  vlprompt train --method coop --model ViT-B-16.pt --dataset fashion_mnist "
      "--shots 16 --seed 1 --out runs/coop-16-1\n  vlprompt train --resume runs/coop-16-1");
  return [a] { return run_train(*a); };
}

}  // namespace

VLPROMPT_COMMAND(train, "learn a delta on K shots per class (resumable)", setup_train);

}  // namespace vlprompt::cli
