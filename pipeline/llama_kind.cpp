// The LLaMA kind of model_kind.h: text deltas evaluated beside the zero-prompt model, inspected
// through the LM's input embeddings and sentencepiece vocabulary.
#include <iostream>

#include "datasets/text/text_loader.h"
#include "pipeline/lm_bundle.h"
#include "pipeline/lm_evaluation.h"
#include "pipeline/model_kind.h"
#include "pipeline/text_delta.h"
#include "pipeline/text_rows.h"
#include "pipeline/text_training_run.h"
#include "prompts/delta_words.h"
#include "prompts/prompted_lm.h"
#include "src/core/device.h"
#include "src/engine/run_outputs.h"

namespace vlprompt::pipeline {
namespace {

using prompts::LmTask;
using prompts::PromptedLmMethod;

int evaluate_text_delta(const EvalArgs& a, const delta::DeltaFile& file) {
  const at::Device device = core::parse_device(a.device);
  const LmBundle lm = load_lm_bundle(a.model.model);
  const LoadedTextDelta loaded = load_text_delta(file, a.delta, lm);
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
      {"model", lm_model_record(lm)},
      {"template", task.template_text},
      {"n", {{"test", split.items.size()}}}};
  evaluate_against_zero_prompt(method, baseline, test, task, device, &results);
  engine::write_run_outputs(a.out, results, {});
  for (const auto& l : text_summary(results)) std::cout << l << "\n";
  std::cout << "results: " << a.out << "/results.json\n";
  return 0;
}

// Text-LM deltas: every virtual token ([n, hidden] tensors: Prompt Tuning, P-Tuning collapsed)
// against the LLaMA model's input embeddings, read back through its sentencepiece vocabulary.
// Prefix Tuning's key/value prefixes live in no token space and are not listed.
nlohmann::json nearest_virtual_tokens(const delta::DeltaFile& file, const std::string& path,
                                      const ModelArgs& model, int64_t top_k) {
  const LmBundle lm = load_lm_bundle(model.model);
  // Rebuilt on the model: checks the fingerprint and every tensor against the metadata.
  load_text_delta(file, path, lm);
  at::NoGradGuard no_grad;
  const at::Tensor table = lm.model->model->embed_tokens->weight;
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, t] : file.tensors) {
    if (t.dim() != 2 || t.size(1) != table.size(1)) continue;
    const auto matches = prompts::nearest_tokens(t, table, top_k);
    nlohmann::json rows = nlohmann::json::array();
    for (size_t i = 0; i < matches.size(); ++i) {
      nlohmann::json row{{"position", i}};
      for (const auto& w : matches[i]) {
        row["words"].push_back({{"word", lm.tokenizer->decode({w.id})},
                                {"token", lm.tokenizer->piece(w.id)},
                                {"id", w.id},
                                {"distance", w.distance}});
      }
      rows.push_back(row);
    }
    out[name] = rows;
  }
  return out;
}

// A random LLaMA of a real size would cost its full memory: text deltas need --model.
std::string text_shapes_unchecked(const delta::DeltaFile&, const std::string&) {
  return "not checked: a text-LM delta (pass --model LLAMA_DIR to check them)";
}

}  // namespace

const ModelKind& llama_kind() {
  static const ModelKind kind{"llama", make_text_training_run, evaluate_text_delta,
                              nearest_virtual_tokens, text_shapes_unchecked};
  return kind;
}

}  // namespace vlprompt::pipeline
