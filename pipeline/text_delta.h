// A trained text delta file brought back onto its LLaMA model, with what its run recorded about
// the task (template, label scoring, token budget), for eval, inspect, lm score/generate.
#pragma once

#include <memory>
#include <string>

#include "pipeline/lm_bundle.h"
#include "pipeline/text_rows.h"
#include "prompts/prompted_lm.h"
#include "src/delta/delta_file.h"

namespace vlprompt::pipeline {

struct LoadedTextDelta {
  std::shared_ptr<delta::Delta> delta;
  delta::DeltaFileInfo info;
  prompts::PromptedLmOptions options;  // the task and label scoring it was trained with
};

// FileError naming the file when it is not a text delta or was trained on other weights (the
// message names both models and fingerprints).
LoadedTextDelta load_text_delta(const std::string& path, const LmBundle& lm);
// The same for a file already read (`path` names it in errors).
LoadedTextDelta load_text_delta(const delta::DeltaFile& file, const std::string& path,
                                const LmBundle& lm);

// How `split` is scored with a delta trained as `info` says: the split's own classes and label
// words (a prompt is not tied to its classes), the template and token budget of training.
TextTask task_from_delta(const delta::DeltaFileInfo& info, prompts::LmTask task,
                         const datasets::TextSplit& split,
                         const models::llama::LlamaTokenizer& tokenizer);

}  // namespace vlprompt::pipeline
