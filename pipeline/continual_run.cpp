#include "pipeline/continual_run.h"

#include <chrono>
#include <filesystem>
#include <iostream>

#include "clip_data/run_data.h"
#include "datasets/class_tasks.h"
#include "datasets/run_splits.h"
#include "pipeline/evaluation.h"
#include "pipeline/model_loading.h"
#include "prompts/registry.h"
#include "prompts/zeroshot_classifier.h"
#include "src/core/device.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/delta/delta_file.h"
#include "src/engine/checkpoint.h"
#include "src/engine/continual_metrics.h"
#include "src/engine/evaluate.h"
#include "src/engine/run_outputs.h"
#include "src/engine/task_mask.h"
#include "src/engine/train_config.h"

namespace vlprompt::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

// The rows of `features` whose label is one of `classes`, in order: what keep_classes keeps of
// the split they were encoded from.
clip_data::SplitFeatures keep_feature_rows(const clip_data::SplitFeatures& features,
                                           const std::vector<int64_t>& classes) {
  const at::Tensor keep = at::isin(features.labels, at::tensor(classes, at::kLong));
  const at::Tensor rows = keep.nonzero().view(-1);
  clip_data::SplitFeatures out = features;
  out.features = features.features.index_select(0, rows);
  out.labels = features.labels.index_select(0, rows);
  return out;
}

// Percent of `labels` whose row of `logits`, among the classes `allowed`, is right.
double masked_top1(const at::Tensor& logits, const at::Tensor& labels,
                   const std::vector<int64_t>& allowed) {
  if (labels.numel() == 0) return 0;
  const at::Tensor pred = engine::mask_logits(logits, allowed).argmax(-1);
  return 100.0 * pred.eq(labels.to(pred.device())).sum().item<double>() / labels.numel();
}

// RUN/continual_state.json: the columns of the accuracy matrix measured so far and each finished
// task's training record. Written after the task's state file, so it never names a task whose
// state is missing.
struct ContinualState {
  std::vector<std::vector<double>> columns;
  nlohmann::json tasks = nlohmann::json::array();

  static std::string path(const std::string& run) { return run + "/continual_state.json"; }
  void save(const std::string& run) const {
    core::atomic_write(path(run),
                       nlohmann::json{{"columns", columns}, {"tasks", tasks}}.dump(2) + "\n");
  }
  static ContinualState load(const std::string& run) {
    ContinualState s;
    if (!core::file_exists(path(run))) return s;
    try {
      const nlohmann::json j = nlohmann::json::parse(core::read_file(path(run)));
      s.columns = j.at("columns").get<std::vector<std::vector<double>>>();
      s.tasks = j.at("tasks");
    } catch (const nlohmann::json::exception& e) {
      throw FileError(path(run), std::string("not a continual state written by vlprompt "
                                             "train --tasks: ") +
                                     e.what());
    }
    return s;
  }
};

class ContinualRun {
 public:
  ContinualRun(const TrainArgs& a, const core::ResolvedConfig& config)
      : a_(a),
        config_(config),
        device_(core::parse_device(a.device)),
        model_(load_model_bundle(a.model)),
        splits_(
            datasets::load_run_splits(a.dataset, a.data_root, a.shots, a.seed, a.subsample, a.out)),
        tasks_(datasets::split_class_tasks(static_cast<int64_t>(splits_.train.classnames.size()),
                                           a.tasks, a.task_order, a.seed)) {
    for (const auto& w : splits_.warnings) std::cerr << "[vlprompt] warning: " << w << "\n";
    prompts::MethodContext context{clip(), model_.tokenizer, splits_.train.classnames, a.seed,
                                   splits_.train.template_text};
    method_ = a.init_delta.empty()
                  ? prompts::make_method(a.method, config, context)
                  : prompts::make_method_on(a.init_delta, a.method, config, context, a.freeze_init);
    features_.batch_size = a.eval_batch_size;
    test_ = clip_data::encode_split(clip(), splits_.test, features_);
    val_ = clip_data::encode_split(clip(), splits_.val, features_);
    task_mask_ = core::read_config<engine::TrainConfig>(config, "train").task_mask;
    std::cerr << "[vlprompt] class-incremental: " << tasks_.size() << " tasks of "
              << tasks_.tasks[0].size() << " classes (" << tasks_.order << " order), " << a.shots
              << " shots per class\n";
  }

  int run(bool resumed) {
    ContinualState state = resumed ? ContinualState::load(a_.out) : ContinualState();
    if (auto* fitted = dynamic_cast<prompts::FittedMethod*>(method_.get())) {
      fit_jointly(*fitted);
    } else {
      if (!state.columns.empty()) {
        const std::string file = state_file(static_cast<int64_t>(state.columns.size()) - 1);
        method_->load_state(core::read_safetensors(file).tensors);
      }
      for (int64_t t = static_cast<int64_t>(state.columns.size()); t < tasks_.size(); ++t) {
        if (!train_task(t, &state)) {
          std::cerr << "[vlprompt] interrupted in task " << t + 1 << "/" << tasks_.size()
                    << "; continue with: vlprompt train --resume " << a_.out << "\n";
          return 130;
        }
      }
    }
    finish(state);
    return 0;
  }

 private:
  models::Clip& clip() { return model_.clip.model; }
  std::string task_dir(int64_t t) const { return a_.out + "/tasks/task-" + std::to_string(t + 1); }
  std::string state_file(int64_t t) const { return task_dir(t) + "/state.safetensors"; }

  // The test batches of task i (features or images, as the method needs), made once.
  engine::EvalData& task_test(int64_t i) {
    if (task_test_.size() <= static_cast<size_t>(i)) task_test_.resize(tasks_.size());
    if (!task_test_[i]) {
      task_test_[i] = clip_data::make_eval_data(
          method_->data_needs(), clip(), datasets::keep_classes(splits_.test, tasks_.tasks[i]),
          keep_feature_rows(test_, tasks_.tasks[i]), a_.eval_batch_size);
    }
    return *task_test_[i];
  }

  // Trains task t from the state the method holds, then tests tasks 0..t and commits the column.
  // False when Ctrl-C stopped it.
  bool train_task(int64_t t, ContinualState* state) {
    const auto start = Clock::now();
    const std::vector<int64_t>& classes = tasks_.tasks[t];
    const std::vector<int64_t> seen = tasks_.seen_through(t);
    engine::TaskMaskedMethod masked(*method_);
    masked.set_masks(task_mask_ ? classes : seen, seen);
    const datasets::DatasetSplit train = datasets::keep_classes(splits_.train, classes);
    const datasets::DatasetSplit val = datasets::keep_classes(splits_.val, classes);
    clip_data::TrainDataRequest request;
    request.augment = !a_.no_augment;
    request.aug_views = a_.aug_views;
    request.seed = a_.seed + static_cast<uint64_t>(t);
    request.batch_size = a_.eval_batch_size;
    clip_data::TrainDataChoice data =
        clip_data::make_train_data(method_->data_needs(), method_->name(), clip(), train, request);
    std::unique_ptr<engine::EvalData> val_data = clip_data::make_eval_data(
        method_->data_needs(), clip(), val, keep_feature_rows(val_, classes), a_.eval_batch_size);
    engine::TrainerOptions options = engine::make_trainer_options(config_, task_dir(t), device_);
    // Each task draws its own shuffles and noise; task 1 keeps the run's seed.
    options.seed(options.seed() + 7919 * t);
    engine::Trainer trainer(options);
    std::cerr << "[vlprompt] task " << t + 1 << "/" << tasks_.size() << ": " << classes.size()
              << " classes, " << train.items.size() << " training images\n";
    const bool resume = engine::has_checkpoint(task_dir(t));
    const engine::TrainResult r = resume ? trainer.resume(masked, *data.data, val_data.get())
                                         : trainer.fit(masked, *data.data, val_data.get());
    if (r.status == engine::TrainStatus::kInterrupted) return false;
    method_->load_state(r.final_state);
    std::vector<double> column;
    for (int64_t i = 0; i <= t; ++i) {
      masked.set_training(false);
      column.push_back(engine::evaluate(masked, task_test(i), device_).top1);
    }
    core::write_safetensors(state_file(t), method_->state());
    state->columns.push_back(column);
    state->tasks.push_back(
        {{"task", t + 1},
         {"classes", classes},
         {"train_images", train.items.size()},
         {"train_data", data.kind},
         {"epochs", r.epochs_completed},
         {"selected_epoch", r.selected_epoch},
         {"final_loss", r.history.empty() ? 0.0 : r.history.back().loss},
         {"resumed", resume},
         {"seconds", std::chrono::duration<double>(Clock::now() - start).count()},
         {"history", history_json(r.history)}});
    state->save(a_.out);
    std::string line = "[vlprompt] after task " + std::to_string(t + 1) + ": accuracy per task";
    for (double v : column) line += " " + c10::str(std::round(v * 100) / 100);
    std::cerr << line << "\n";
    return true;
  }

  static nlohmann::json history_json(const std::vector<engine::EpochRecord>& history) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : history) out.push_back(e.to_json());
    return out;
  }

  // The joint upper bound: one fit on every task's training data, tested per task among all
  // classes; the same value in every column.
  void fit_jointly(prompts::FittedMethod& fitted) {
    const clip_data::SplitFeatures train =
        clip_data::encode_split(clip(), splits_.train, features_);
    nlohmann::json record = fitted.fit(train.features, train.labels, val_.features, val_.labels);
    std::vector<double> column;
    const std::vector<int64_t> all = tasks_.seen_through(tasks_.size() - 1);
    engine::TaskMaskedMethod masked(fitted);
    masked.set_masks(all, all);
    for (int64_t i = 0; i < tasks_.size(); ++i) {
      column.push_back(engine::evaluate(masked, task_test(i), device_).top1);
    }
    joint_ = record;
    joint_column_ = column;
  }

  // The hand-written prompt's matrix on the same protocol: it learns nothing, so a column differs
  // from the last only by the classes it chooses among.
  nlohmann::json hand_written_matrix() {
    const at::Tensor w = prompts::zeroshot_weights(
        clip(), *model_.tokenizer, splits_.test.classnames, {splits_.test.template_text});
    const at::Tensor img = test_.features / test_.features.norm(2, -1, true);
    const at::Tensor logits = img.to(w.device()).matmul(w.t());
    std::vector<std::vector<double>> columns;
    for (int64_t t = 0; t < tasks_.size(); ++t) {
      std::vector<double> column;
      for (int64_t i = 0; i <= t; ++i) {
        const at::Tensor rows =
            at::isin(test_.labels, at::tensor(tasks_.tasks[i], at::kLong)).nonzero().view(-1);
        column.push_back(masked_top1(logits.index_select(0, rows.to(logits.device())),
                                     test_.labels.index_select(0, rows), tasks_.seen_through(t)));
      }
      columns.push_back(column);
    }
    return engine::continual_json(columns);
  }

  void finish(const ContinualState& state) {
    nlohmann::json results = run_header(a_, method_->name(), model_, splits_);
    results["title"] = method_->name() + " class-incremental, " + std::to_string(tasks_.size()) +
                       " tasks, " + std::to_string(a_.shots) + "-shot seed " +
                       std::to_string(a_.seed) + " on " + a_.dataset;
    nlohmann::json continual;
    if (joint_column_.empty()) {
      continual = engine::continual_json(state.columns);
      continual["protocol"] = "class-incremental: tasks learned one after the other";
      continual["trained_on"] =
          task_mask_ ? "the current task's classes (others masked)" : "every class seen so far";
      continual["per_task"] = state.tasks;
    } else {
      continual["protocol"] = "joint: fitted once on every task's data (upper bound)";
      continual["per_task_accuracy"] = joint_column_;
      double sum = 0;
      for (double v : joint_column_) sum += v;
      continual["average_accuracy"] = {sum / static_cast<double>(joint_column_.size())};
      results["training"] = joint_;
    }
    continual["tested_among"] = "every class seen so far (class-incremental)";
    continual["split"] = tasks_.to_json(splits_.train.classnames);
    continual["hand_written"] = hand_written_matrix();
    results["continual"] = continual;
    if (joint_column_.empty()) {
      int64_t epochs = 0;
      for (const auto& task : state.tasks) epochs += task.value("epochs", int64_t{0});
      results["training"] = {{"tasks", tasks_.size()}, {"epochs", epochs}};
    }
    method_->set_training(false);
    auto test_data = clip_data::make_eval_data(method_->data_needs(), clip(), splits_.test, test_,
                                               a_.eval_batch_size);
    evaluate_against_manual(*method_, *test_data, model_, splits_.test, test_, device_, &results);
    delta::DeltaFileInfo info = prompts::delta_info(
        *method_, clip(), model_.vocab_path, splits_.train.classnames, splits_.train.template_text);
    info.training = training_record(results);
    delta::write_delta(a_.out + "/delta.safetensors", method_->state(), info);
    engine::write_run_outputs(a_.out, results, joined_history(state));
    std::vector<std::string> summary = summary_lines(results);
    for (const auto& l : engine::continual_summary_lines(continual)) summary.push_back(l);
    engine::append_log(a_.out, summary);
    for (const auto& l : summary) std::cout << l << "\n";
  }

  // The tasks' epochs end to end (epoch numbers running on), each tagged with its task.
  static std::vector<engine::EpochRecord> joined_history(const ContinualState& state) {
    std::vector<engine::EpochRecord> out;
    for (const auto& task : state.tasks) {
      for (const auto& e : task.at("history")) {
        engine::EpochRecord r = engine::EpochRecord::from_json(e, "continual_state.json");
        r.epoch = static_cast<int64_t>(out.size()) + 1;
        r.extra["task"] = task.value("task", 0);
        out.push_back(r);
      }
    }
    return out;
  }

  TrainArgs a_;
  core::ResolvedConfig config_;
  at::Device device_;
  ModelBundle model_;
  datasets::RunSplits splits_;
  datasets::ClassTasks tasks_;
  std::unique_ptr<engine::Method> method_;
  clip_data::FeatureOptions features_;
  clip_data::SplitFeatures test_, val_;
  bool task_mask_ = false;
  std::vector<std::unique_ptr<engine::EvalData>> task_test_;
  nlohmann::json joint_;
  std::vector<double> joint_column_;
};

}  // namespace

int train_continual(const TrainArgs& a, const core::ResolvedConfig& config, bool resumed) {
  if (prompts::is_lm_method(a.method, names_llama_model(a.model.model))) {
    throw Error(
        "train --tasks: the class-incremental protocol splits an image dataset's "
        "classes; '" +
        a.method + "' trains a text LM");
  }
  if (a.subsample != "all") {
    throw Error("train --tasks splits every class into tasks; --subsample must be all, got '" +
                a.subsample + "'");
  }
  if (!a.target.empty()) {
    throw Error("train --tasks cannot be combined with --target (domain adaptation)");
  }
  ContinualRun run(a, config);
  return run.run(resumed);
}

}  // namespace vlprompt::pipeline
