#include "tools/pipeline/text_runs.h"

#include <cmath>
#include <iostream>

#include "datasets/text/text_loader.h"
#include "datasets/text/text_run_splits.h"
#include "prompts/lm/lm_delta_file.h"
#include "prompts/prompted_lm.h"
#include "prompts/registry.h"
#include "prompts/text_config.h"
#include "src/core/device.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/delta/delta_file.h"
#include "src/engine/evaluate.h"
#include "src/engine/run_outputs.h"
#include "src/engine/token_data.h"
#include "src/engine/train_config.h"
#include "src/engine/trainer.h"
#include "tools/pipeline/lm_bundle.h"
#include "tools/pipeline/text_delta.h"
#include "tools/pipeline/text_rows.h"
#include "tools/pipeline/train_args.h"

namespace vlprompt::pipeline {
namespace {

using prompts::LmTask;
using prompts::PromptedLmMethod;

prompts::PromptedLmOptions method_options(LmTask task, const prompts::TextConfig& tc) {
  return prompts::PromptedLmOptions().task(task).mean_label_logprob(tc.label_score == "mean");
}

// Mean completion NLL and perplexity over a causal-LM split (token-weighted, as HF's
// evaluation of a causal LM averages over every predicted token).
nlohmann::json perplexity(PromptedLmMethod& method, engine::TokenData& data,
                          const at::Device& device) {
  at::NoGradGuard no_grad;
  method.set_training(false);
  method.to(device);
  double nll = 0;
  int64_t tokens = 0;
  for (int64_t b = 0; b < data.num_batches(); ++b) {
    const engine::Batch batch = engine::to_device(data.batch(b), device);
    const at::Tensor logits = method.forward(batch);
    nll += at::cross_entropy_loss(logits, batch.labels, {}, at::Reduction::Sum).item<double>();
    tokens += batch.labels.size(0);
  }
  const double mean = tokens ? nll / tokens : 0.0;
  return {{"n", data.size()}, {"tokens", tokens}, {"nll", mean}, {"ppl", std::exp(mean)}};
}

// The learned delta and the zero-prompt baseline on the test rows: results["test"],
// results["zero_prompt"], results["comparison"].
void evaluate_against_baseline(PromptedLmMethod& method, PromptedLmMethod& baseline,
                               engine::TokenData& test, const TextTask& task,
                               const at::Device& device, nlohmann::json* results) {
  nlohmann::json learned, plain;
  if (task.task == LmTask::kCausalLm) {
    learned = perplexity(method, test, device);
    plain = perplexity(baseline, test, device);
  } else {
    learned = engine::evaluate(method, test, device, engine::Precision::kFp32,
                               engine::ProgressMode::kAuto, "test")
                  .to_json(task.classnames);
    plain = engine::evaluate(baseline, test, device).to_json(task.classnames);
    (*results)["classnames"] = task.classnames;
    (*results)["label_words"] = task.label_words;
  }
  (*results)["test"] = learned;
  (*results)["zero_prompt"] = plain;
  const auto row = [&](const std::string& name, const nlohmann::json& m) {
    nlohmann::json r{{"name", name}};
    for (const char* k : {"top1", "top5", "macro", "macro_f1", "nll", "ppl"})
      if (m.contains(k)) r[k] = m[k];
    return r;
  };
  const std::string plain_name = task.task == LmTask::kCausalLm
                                     ? std::string("zero-prompt model")
                                     : "zero-prompt: \"" + task.template_text + "\"";
  (*results)["comparison"] = {row(plain_name, plain), row("learned: " + method.name(), learned)};
}

std::vector<std::string> text_summary(const nlohmann::json& results) {
  std::vector<std::string> out{results.value("title", std::string("run"))};
  char buf[256];
  const bool lm = results.value("task", std::string()) == "lm";
  if (lm)
    std::snprintf(buf, sizeof(buf), "%-44s %10s %10s", "prompts (test)", "nll", "perplexity");
  else
    std::snprintf(buf, sizeof(buf), "%-44s %8s %8s %8s", "prompts (test)", "top1", "macro",
                  "macro-F1");
  out.push_back(buf);
  for (const auto& r : results.value("comparison", nlohmann::json::array())) {
    const std::string name = r.value("name", std::string()).substr(0, 44);
    if (lm)
      std::snprintf(buf, sizeof(buf), "%-44s %10.4f %10.3f", name.c_str(), r.value("nll", 0.0),
                    r.value("ppl", 0.0));
    else
      std::snprintf(buf, sizeof(buf), "%-44s %8.2f %8.2f %8.2f", name.c_str(), r.value("top1", 0.0),
                    r.value("macro", 0.0), r.value("macro_f1", 0.0));
    out.push_back(buf);
  }
  return out;
}

nlohmann::json model_record(const LmBundle& lm) {
  return {{"source", lm.folder},
          {"format", "hf-llama"},
          {"architecture", lm.name},
          {"fingerprint", lm.fingerprint},
          {"tokenizer", lm.tokenizer->path()}};
}

}  // namespace

int train_text(const TrainArgs& a, const core::ResolvedConfig& config, bool resumed) {
  const at::Device device = core::parse_device(a.device);
  const LmBundle lm = load_lm_bundle(a.model.model);
  const auto tc = core::read_config<prompts::TextConfig>(config, "text");
  core::check_choice(config, "text.label_score", tc.label_score, {"sum", "mean"});
  const LmTask task_kind = prompts::parse_lm_task(a.task);
  const bool lm_task = task_kind == LmTask::kCausalLm;
  const datasets::TextRunSplits splits = datasets::load_text_run_splits(
      a.dataset, a.data_root, lm_task ? 0 : a.shots, a.seed, a.out, dataset_task(task_kind));
  for (const auto& w : splits.warnings) std::cerr << "[vlprompt] warning: " << w << "\n";
  const TextTask task = make_text_task(task_kind, tc, splits.train, *lm.tokenizer);
  std::cerr << "[vlprompt] " << a.dataset << " (" << prompts::lm_task_name(task_kind) << "): train "
            << splits.train.items.size() << ", val " << splits.val.items.size() << ", test "
            << splits.test.items.size() << " texts"
            << (lm_task ? "" : ", " + std::to_string(task.classnames.size()) + " classes") << "\n";

  prompts::LmMethodContext context;
  context.model = lm.model;
  context.encode = [tok = lm.tokenizer](const std::string& s) { return encode_plain(*tok, s); };
  context.label_words = task.label_words;
  context.seed = a.seed;
  auto delta = prompts::make_lm_delta(a.method, config, context);
  // The registered names ("prompt_tuning"), however the user spelled them ("prompt-tuning").
  std::string name;
  for (const auto& m : prompts::method_members(a.method)) name += (name.empty() ? "" : "+") + m;
  PromptedLmMethod method(name, lm.model, delta, task.label_ids, lm.fingerprint,
                          method_options(task_kind, tc));
  engine::TokenData train(token_rows(splits.train, task, *lm.tokenizer), a.eval_batch_size);
  std::unique_ptr<engine::TokenData> val;
  if (!lm_task && !splits.val.items.empty())
    val = std::make_unique<engine::TokenData>(token_rows(splits.val, task, *lm.tokenizer),
                                              a.eval_batch_size);
  engine::TokenData test(token_rows(splits.test, task, *lm.tokenizer), a.eval_batch_size);

  engine::Trainer trainer(engine::make_trainer_options(config, a.out, device));
  if (lm_task && trainer.options().select() == engine::Select::kBestVal)
    throw Error(
        "train.select=best_val: causal-LM runs have no labelled val split to select on; "
        "use train.select=last");
  const engine::TrainResult r =
      resumed ? trainer.resume(method, train, val.get()) : trainer.fit(method, train, val.get());
  if (r.status == engine::TrainStatus::kInterrupted) {
    std::cerr << "[vlprompt] interrupted; continue with: vlprompt train --resume " << a.out << "\n";
    return 130;
  }
  method.load_state(r.final_state);

  nlohmann::json results{
      {"command", "train"},
      {"title",
       name + (lm_task ? std::string(" causal LM") : " " + std::to_string(a.shots) + "-shot") +
           " seed " + std::to_string(a.seed) + " on " + a.dataset},
      {"method", name},
      {"task", prompts::lm_task_name(task_kind)},
      {"dataset", a.dataset},
      {"subsample", "all"},
      {"shots", lm_task ? 0 : a.shots},
      {"seed", a.seed},
      {"model", model_record(lm)},
      {"template", task.template_text},
      {"split_file", splits.split_file},
      {"warnings", splits.warnings},
      {"n",
       {{"train", splits.train.items.size()},
        {"val", splits.val.items.size()},
        {"test", splits.test.items.size()}}}};
  results["training"] = {{"epochs", r.epochs_completed},
                         {"selected_epoch", r.selected_epoch},
                         {"best_epoch", r.best_epoch},
                         {"best_val_top1", r.best_val_top1},
                         {"resumed", resumed},
                         {"selected", engine::select_name(trainer.options().select())},
                         {"final_loss", r.history.empty() ? 0.0 : r.history.back().loss}};
  results["hyperparameters"] = method.hyperparameters();
  method.set_training(false);
  PromptedLmMethod baseline("zero-prompt", lm.model, nullptr, task.label_ids, lm.fingerprint,
                            method_options(task_kind, tc));
  evaluate_against_baseline(method, baseline, test, task, device, &results);

  delta::DeltaFileInfo info = prompts::lm::lm_delta_info(*delta, lm.model, lm.folder);
  info.tokenizer = "tokenizer.model";
  info.classnames = task.classnames;
  info.prompt_template = task.template_text;
  info.training.update({{"dataset", a.dataset},
                        {"shots", results["shots"]},
                        {"seed", a.seed},
                        {"task", prompts::lm_task_name(task_kind)},
                        {"label_words", task.label_words},
                        {"label_score", tc.label_score},
                        {"max_tokens", tc.max_tokens},
                        {"summary", results["training"]}});
  if (lm_task)
    info.training["test_ppl"] = results["test"]["ppl"];
  else
    info.training["test_top1"] = results["test"]["top1"];
  prompts::lm::write_lm_delta(a.out + "/delta.safetensors", *delta, info);
  engine::write_run_outputs(a.out, results, r.history);
  engine::append_log(a.out, text_summary(results));
  for (const auto& l : text_summary(results)) std::cout << l << "\n";
  return 0;
}

int eval_text(const TextEvalArgs& a) {
  const at::Device device = core::parse_device(a.device);
  const LmBundle lm = load_lm_bundle(a.model);
  const LoadedTextDelta loaded = load_text_delta(a.delta, lm);
  const nlohmann::json& training = loaded.info.training;
  const LmTask task_kind = prompts::parse_lm_task(training.value("task", std::string("classify")));
  const datasets::TextSplit split =
      datasets::load_text_split(a.dataset, a.data_root, a.split, dataset_task(task_kind));
  TextTask task = task_from_delta(loaded.info, task_kind, split, *lm.tokenizer);
  std::cerr << "[vlprompt] " << a.dataset << " " << a.split << ": " << split.items.size()
            << " texts\n";
  PromptedLmMethod method(loaded.info.method, lm.model, loaded.delta, task.label_ids,
                          lm.fingerprint, loaded.options);
  PromptedLmMethod baseline("zero-prompt", lm.model, nullptr, task.label_ids, lm.fingerprint,
                            loaded.options);
  engine::TokenData test(token_rows(split, task, *lm.tokenizer), a.batch_size);
  nlohmann::json delta_record = delta::info_json(loaded.info);
  delta_record["path"] = a.delta;
  nlohmann::json results{
      {"command", "eval"},
      {"title", loaded.info.method + " evaluated on " + a.dataset + " " + a.split},
      {"method", loaded.info.method},
      {"task", prompts::lm_task_name(task_kind)},
      {"dataset", a.dataset},
      {"trained_on", training.value("dataset", std::string())},
      {"split", a.split},
      {"subsample", "all"},
      {"shots", training.value("shots", 0)},
      {"seed", training.value("seed", 0)},
      {"delta", delta_record},
      {"model", model_record(lm)},
      {"template", task.template_text},
      {"n", {{"test", split.items.size()}}}};
  evaluate_against_baseline(method, baseline, test, task, device, &results);
  engine::write_run_outputs(a.out, results, {});
  for (const auto& l : text_summary(results)) std::cout << l << "\n";
  std::cout << "results: " << a.out << "/results.json\n";
  return 0;
}

}  // namespace vlprompt::pipeline
