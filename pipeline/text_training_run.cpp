#include "pipeline/text_training_run.h"

#include <iostream>

#include "datasets/text/text_run_splits.h"
#include "pipeline/lm_bundle.h"
#include "pipeline/lm_evaluation.h"
#include "pipeline/text_rows.h"
#include "prompts/lm/lm_delta_file.h"
#include "prompts/prompted_lm.h"
#include "prompts/registry.h"
#include "prompts/text_config.h"
#include "src/core/device.h"
#include "src/core/error.h"
#include "src/engine/token_data.h"

namespace vlprompt::pipeline {
namespace {

using prompts::LmTask;
using prompts::PromptedLmMethod;

prompts::PromptedLmOptions method_options(LmTask task, const prompts::TextConfig& tc) {
  return prompts::PromptedLmOptions().task(task).mean_label_logprob(tc.label_score == "mean");
}

class TextTrainingRun : public TrainingRun {
 public:
  TextTrainingRun(const TrainArgs& a, const core::ResolvedConfig& config)
      : a_(a),
        lm_(load_lm_bundle(a.model.model)),
        text_config_(core::read_config<prompts::TextConfig>(config, "text")),
        task_kind_(prompts::parse_lm_task(a.task)),
        splits_(datasets::load_text_run_splits(a.dataset, a.data_root, lm_task() ? 0 : a.shots,
                                               a.seed, a.out, dataset_task(task_kind_))) {
    core::check_choice(config, "text.label_score", text_config_.label_score, {"sum", "mean"});
    for (const auto& w : splits_.warnings) std::cerr << "[vlprompt] warning: " << w << "\n";
    task_ = make_text_task(task_kind_, text_config_, splits_.train, *lm_.tokenizer);
    std::cerr << "[vlprompt] " << a.dataset << " (" << prompts::lm_task_name(task_kind_)
              << "): train " << splits_.train.items.size() << ", val " << splits_.val.items.size()
              << ", test " << splits_.test.items.size() << " texts"
              << (lm_task() ? "" : ", " + std::to_string(task_.classnames.size()) + " classes")
              << "\n";
    prompts::LmMethodContext context;
    context.model = lm_.model;
    context.encode = [tok = lm_.tokenizer](const std::string& s) { return encode_plain(*tok, s); };
    context.label_words = task_.label_words;
    context.seed = a.seed;
    delta_ = a.init_delta.empty() ? prompts::make_lm_delta(a.method, config, context)
                                  : prompts::lm::stack_on_lm_delta(a.init_delta, a.method, config,
                                                                   context, a.freeze_init);
    method_ =
        std::make_unique<PromptedLmMethod>(prompts::lm::delta_method(*delta_), lm_.model, delta_,
                                           task_.label_ids, lm_.fingerprint, options());
    train_ = std::make_unique<engine::TokenData>(token_rows(splits_.train, task_, *lm_.tokenizer),
                                                 a.eval_batch_size);
    if (!lm_task() && !splits_.val.items.empty()) {
      val_ = std::make_unique<engine::TokenData>(token_rows(splits_.val, task_, *lm_.tokenizer),
                                                 a.eval_batch_size);
    }
    test_ = std::make_unique<engine::TokenData>(token_rows(splits_.test, task_, *lm_.tokenizer),
                                                a.eval_batch_size);
  }

  nlohmann::json results_header() const override {
    const std::string& name = method_->name();
    return {
        {"command", "train"},
        {"title",
         name + (lm_task() ? std::string(" causal LM") : " " + std::to_string(a_.shots) + "-shot") +
             " seed " + std::to_string(a_.seed) + " on " + a_.dataset},
        {"method", name},
        {"task", prompts::lm_task_name(task_kind_)},
        {"dataset", a_.dataset},
        {"subsample", "all"},
        {"shots", lm_task() ? 0 : a_.shots},
        {"seed", a_.seed},
        {"model", lm_model_record(lm_)},
        {"template", task_.template_text},
        {"split_file", splits_.split_file},
        {"warnings", splits_.warnings},
        {"n",
         {{"train", splits_.train.items.size()},
          {"val", splits_.val.items.size()},
          {"test", splits_.test.items.size()}}}};
  }
  engine::Method& method() override { return *method_; }
  engine::TrainData& train_data() override { return *train_; }
  engine::EvalData* val_data() override { return val_.get(); }

  void check_trainer(const engine::TrainerOptions& options) const override {
    if (lm_task() && options.select() == engine::Select::kBestVal)
      throw Error(
          "train.select=best_val: causal-LM runs have no labelled val split to select on; "
          "use train.select=last");
  }

  void evaluate(nlohmann::json* results) override {
    PromptedLmMethod baseline("zero-prompt", lm_.model, nullptr, task_.label_ids, lm_.fingerprint,
                              options());
    evaluate_against_zero_prompt(*method_, baseline, *test_, task_, core::parse_device(a_.device),
                                 results);
  }

  void write_delta(const std::string& path, const nlohmann::json& results) override {
    delta::DeltaFileInfo info = prompts::lm::lm_delta_info(*delta_, lm_.model, lm_.folder);
    info.tokenizer = "tokenizer.model";
    info.classnames = task_.classnames;
    info.prompt_template = task_.template_text;
    info.training.update({{"dataset", a_.dataset},
                          {"shots", results["shots"]},
                          {"seed", a_.seed},
                          {"task", prompts::lm_task_name(task_kind_)},
                          {"label_words", task_.label_words},
                          {"label_score", text_config_.label_score},
                          {"max_tokens", text_config_.max_tokens},
                          {"summary", results["training"]}});
    if (lm_task())
      info.training["test_ppl"] = results["test"]["ppl"];
    else
      info.training["test_top1"] = results["test"]["top1"];
    prompts::lm::write_lm_delta(path, *delta_, info);
  }

  std::vector<std::string> summary_lines(const nlohmann::json& results) const override {
    return text_summary(results);
  }

 private:
  bool lm_task() const { return task_kind_ == LmTask::kCausalLm; }
  prompts::PromptedLmOptions options() const { return method_options(task_kind_, text_config_); }

  TrainArgs a_;
  LmBundle lm_;
  prompts::TextConfig text_config_;
  LmTask task_kind_;
  datasets::TextRunSplits splits_;
  TextTask task_;
  std::shared_ptr<delta::Delta> delta_;
  std::unique_ptr<PromptedLmMethod> method_;
  std::unique_ptr<engine::TokenData> train_, val_, test_;
};

}  // namespace

std::unique_ptr<TrainingRun> make_text_training_run(const TrainArgs& args,
                                                    const core::ResolvedConfig& config) {
  return std::make_unique<TextTrainingRun>(args, config);
}

}  // namespace vlprompt::pipeline
