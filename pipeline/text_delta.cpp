#include "pipeline/text_delta.h"

#include "prompts/lm/lm_delta_file.h"
#include "prompts/registry.h"
#include "src/core/error.h"

namespace vlprompt::pipeline {

LoadedTextDelta load_text_delta(const std::string& path, const LmBundle& lm) {
  return load_text_delta(delta::read_delta(path), path, lm);
}

LoadedTextDelta load_text_delta(const delta::DeltaFile& file, const std::string& path,
                                const LmBundle& lm) {
  // The file's tensors replace any initialisation, so the factory needs neither encode nor label
  // words (load_only).
  prompts::LmMethodContext context;
  context.model = lm.model;
  context.load_only = true;
  LoadedTextDelta out;
  prompts::lm::LoadedLmDelta loaded = prompts::lm::load_lm_delta(file, path, context);
  out.delta = loaded.delta;
  out.info = loaded.info;
  const nlohmann::json& t = out.info.training;
  out.options = prompts::PromptedLmOptions()
                    .task(prompts::parse_lm_task(t.value("task", std::string("classify"))))
                    .mean_label_logprob(t.value("label_score", std::string("sum")) == "mean");
  return out;
}

TextTask task_from_delta(const delta::DeltaFileInfo& info, prompts::LmTask task,
                         const datasets::TextSplit& split,
                         const models::llama::LlamaTokenizer& tokenizer) {
  prompts::TextConfig config;
  config.max_tokens = info.training.value("max_tokens", int64_t{256});
  config.label_score = info.training.value("label_score", std::string("sum"));
  config.template_text = info.prompt_template;
  return make_text_task(task, config, split, tokenizer);
}

}  // namespace vlprompt::pipeline
