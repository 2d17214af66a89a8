#include "pipeline/clip_training_run.h"

#include <iostream>

#include "clip_data/run_data.h"
#include "datasets/run_splits.h"
#include "pipeline/domain_adaptation.h"
#include "pipeline/evaluation.h"
#include "pipeline/few_shot_cache.h"
#include "pipeline/model_loading.h"
#include "prompts/registry.h"
#include "src/core/device.h"
#include "src/core/error.h"
#include "src/delta/delta_file.h"
#include "src/engine/train_config.h"

namespace vlprompt::pipeline {
namespace {

class ClipTrainingRun : public TrainingRun {
 public:
  ClipTrainingRun(const TrainArgs& a, const core::ResolvedConfig& config)
      : a_(a),
        config_(config),
        model_(load_model_bundle(a.model)),
        splits_(datasets::load_run_splits(a.dataset, a.data_root, a.shots, a.seed, a.subsample,
                                          a.out)) {
    for (const auto& w : splits_.warnings) std::cerr << "[vlprompt] warning: " << w << "\n";
    if (!a.target.empty()) {
      target_ = std::make_unique<TargetData>(load_target(a, splits_.train));
      std::cerr << "[vlprompt] domain adaptation " << target_->domains[0] << " -> "
                << target_->domains[1] << ": " << target_->unlabelled.items.size()
                << " unlabelled target images, target test " << target_->test.items.size() << "\n";
    }
    std::cerr << "[vlprompt] " << a.shots << "-shot " << a.subsample << ": train "
              << splits_.train.items.size() << ", val " << splits_.val.items.size() << ", test "
              << splits_.test.items.size() << " images, " << splits_.train.classnames.size()
              << " classes\n";
    prompts::MethodContext context{clip(), model_.tokenizer, splits_.train.classnames, a.seed,
                                   splits_.train.template_text};
    if (target_) context.domains = target_->domains;
    method_ = a.init_delta.empty()
                  ? prompts::make_method(a.method, config, context)
                  : prompts::make_method_on(a.init_delta, a.method, config, context, a.freeze_init);
    // The hand-written baseline is always scored on cached test features; val features feed
    // text-side methods (and fitted baselines).
    features_.batch_size = a.eval_batch_size;
    test_ = clip_data::encode_split(clip(), test_split(), features_);
    val_ = clip_data::encode_split(clip(), splits_.val, features_);
    cache_ = build_few_shot_cache(*method_, clip(), splits_.train, a.seed, a.eval_batch_size);
  }

  nlohmann::json results_header() const override {
    return run_header(a_, method_->name(), model_, splits_);
  }
  engine::Method& method() override { return *method_; }

  std::optional<nlohmann::json> fit() override {
    auto* fitted = dynamic_cast<prompts::FittedMethod*>(method_.get());
    // A cache built for this run with nothing beside it to train (Tip-Adapter) is fitted already.
    if (!fitted && cache_ && trainable_values(*method_) == 0) {
      return nlohmann::json{{"fitted", "few-shot cache, nothing trained"}, {"cache", *cache_}};
    }
    if (!fitted) return std::nullopt;
    const clip_data::SplitFeatures train =
        clip_data::encode_split(clip(), splits_.train, features_);
    nlohmann::json record = fitted->fit(train.features, train.labels, val_.features, val_.labels);
    record["train_data"] = "center-view features";
    return record;
  }

  // The residual's hyper-parameters of a cache this run built, on val; a cache loaded with an
  // --init-delta keeps the choice it was made with.
  void after_training(nlohmann::json* results) override {
    if (!cache_) return;
    (*results)["few_shot_cache"] = *cache_;
    (*results)["val_search"] = select_on_val(*method_, val_, a_.dataset);
  }

  engine::TrainData& train_data() override {
    if (!train_.data) make_training_data();
    return *train_.data;
  }
  engine::EvalData* val_data() override {
    if (!train_.data) make_training_data();
    return val_data_.get();
  }
  std::string train_data_kind() const override { return train_.kind; }

  void evaluate(nlohmann::json* results) override {
    if (target_) {
      (*results)["domain_adaptation"] = {
          {"source", a_.dataset},
          {"target", a_.target},
          {"domains", target_->domains},
          {"unlabelled_target_images", target_->unlabelled.items.size()},
          {"test",
           a_.target + " test split, classified with the prompts of domain " + target_->domains[1]},
          {"target_labels_read_by_training", false}};
      (*results)["n"]["test"] = target_->test.items.size();
      (*results)["title"] = results->value("title", std::string()) + " -> " + a_.target;
    }
    auto test_data = clip_data::make_eval_data(method_->data_needs(), clip(), test_split(), test_,
                                               a_.eval_batch_size);
    evaluate_against_manual(*method_, *test_data, model_, test_split(), test_,
                            core::parse_device(a_.device), results);
  }

  void write_delta(const std::string& path, const nlohmann::json& results) override {
    delta::DeltaFileInfo info = prompts::delta_info(
        *method_, clip(), model_.vocab_path, splits_.train.classnames, splits_.train.template_text);
    info.training = training_record(results);
    delta::write_delta(path, method_->state(), info);
  }

  std::vector<std::string> summary_lines(const nlohmann::json& results) const override {
    return pipeline::summary_lines(results);
  }

 private:
  models::Clip& clip() { return model_.clip.model; }
  const datasets::DatasetSplit& test_split() const {
    return target_ ? target_->test : splits_.test;
  }

  void make_training_data() {
    clip_data::TrainDataRequest request;
    request.augment = !a_.no_augment;
    request.aug_views = a_.aug_views;
    request.seed = a_.seed;
    request.batch_size = a_.eval_batch_size;
    train_ = clip_data::make_train_data(method_->data_needs(), method_->name(), clip(),
                                        splits_.train, request);
    val_data_ = clip_data::make_eval_data(method_->data_needs(), clip(), splits_.val, val_,
                                          a_.eval_batch_size);
    if (!target_) return;
    // The labelled copy goes to reports only; training sees target.unlabelled (labels -1).
    const clip_data::SplitFeatures reference =
        clip_data::encode_split(clip(), target_->reference, features_);
    method_->set_unlabelled_reference(clip_data::make_eval_data(
        method_->data_needs(), clip(), target_->reference, reference, a_.eval_batch_size));
    train_.data = pair_with_target(
        std::move(train_.data), *method_, clip(), *target_, request,
        core::read_config<engine::TrainConfig>(config_, "train").target_batch_size, a_.seed);
    val_data_ = source_val(std::move(val_data_), *method_, *target_);
    train_.kind += "; unlabelled target " + a_.target + " beside each batch";
  }

  TrainArgs a_;
  core::ResolvedConfig config_;
  ModelBundle model_;
  datasets::RunSplits splits_;
  std::unique_ptr<TargetData> target_;
  std::unique_ptr<engine::Method> method_;
  clip_data::FeatureOptions features_;
  clip_data::SplitFeatures test_, val_;
  std::optional<nlohmann::json> cache_;  // what this run's few-shot cache was built from
  clip_data::TrainDataChoice train_;
  std::unique_ptr<engine::EvalData> val_data_;
};

}  // namespace

std::unique_ptr<TrainingRun> make_clip_training_run(const TrainArgs& args,
                                                    const core::ResolvedConfig& config) {
  return std::make_unique<ClipTrainingRun>(args, config);
}

}  // namespace vlprompt::pipeline
