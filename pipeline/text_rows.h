// Texts to token rows for a text-LM run: the template filled in and tokenized (BOS first, as the
// model's tokenizer adds it), label words tokenized without BOS, completions followed by EOS.
#pragma once

#include <string>
#include <vector>

#include "datasets/text/text_dataset.h"
#include "models/llama/llama_tokenizer.h"
#include "prompts/prompted_lm.h"
#include "prompts/text_config.h"
#include "src/engine/token_data.h"

namespace vlprompt::pipeline {

// What turns a split's records into rows and classes into label tokens.
struct TextTask {
  prompts::LmTask task = prompts::LmTask::kClassify;
  std::string template_text;  // with "{text}"
  int64_t max_tokens = 256;
  std::vector<std::string> classnames;          // classification
  std::vector<std::string> label_words;         // one per class
  std::vector<std::vector<int64_t>> label_ids;  // label_words tokenized, no BOS
};

// From the run's `text` config and the training split (its template and label words, unless the
// config's template replaces it). Error when the template lacks "{text}".
TextTask make_text_task(prompts::LmTask task, const prompts::TextConfig& config,
                        const datasets::TextSplit& train,
                        const models::llama::LlamaTokenizer& tokenizer);

// The data task a text-LM task reads.
datasets::TextTask dataset_task(prompts::LmTask task);

// One row per record. Classification: BOS + the filled template, cut at the front (after BOS) so
// that it and the longest label fit max_tokens. Causal LM: BOS + prompt (the record's text, may
// be empty) + completion + EOS, the completion being the target; a record with no completion is a
// whole document to predict. Too long: the prompt loses its start, then the completion its end.
std::vector<engine::TokenRow> token_rows(const datasets::TextSplit& split, const TextTask& task,
                                         const models::llama::LlamaTokenizer& tokenizer);

}  // namespace vlprompt::pipeline
