#include "pipeline/lm_evaluation.h"

#include <cmath>
#include <cstdio>

#include "src/engine/evaluate.h"

namespace vlprompt::pipeline {

nlohmann::json perplexity(prompts::PromptedLmMethod& method, engine::TokenData& data,
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

void evaluate_against_zero_prompt(prompts::PromptedLmMethod& method,
                                  prompts::PromptedLmMethod& baseline, engine::TokenData& test,
                                  const TextTask& task, const at::Device& device,
                                  nlohmann::json* results) {
  nlohmann::json learned, plain;
  if (task.task == prompts::LmTask::kCausalLm) {
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
  const std::string plain_name = task.task == prompts::LmTask::kCausalLm
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

nlohmann::json lm_model_record(const LmBundle& lm) {
  const auto& p = lm.provenance;
  return {{"source", lm.folder},
          {"format", "hf-llama"},
          {"architecture", lm.name},
          {"fingerprint", lm.fingerprint},
          {"tokenizer", lm.tokenizer->path()},
          // null when the file does not say (Hugging Face's own files): never guessed.
          {"pretrained", p.pretrained ? nlohmann::json(*p.pretrained) : nlohmann::json()},
          {"provenance", p.how_made.empty() ? "not recorded in the file" : p.how_made}};
}

}  // namespace vlprompt::pipeline
