// Scoring a text delta on a frozen LM beside the zero-prompt model (the same LM with no delta, on
// the same template or the same completions), and the records a text run keeps about it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pipeline/lm_bundle.h"
#include "pipeline/text_rows.h"
#include "prompts/prompted_lm.h"
#include "src/engine/token_data.h"

namespace vlprompt::pipeline {

// Mean completion NLL and perplexity over a causal-LM split, token-weighted (as Hugging Face's
// evaluation of a causal LM averages over every predicted token): {n, tokens, nll, ppl}.
nlohmann::json perplexity(prompts::PromptedLmMethod& method, engine::TokenData& data,
                          const at::Device& device);

// The learned delta and the zero-prompt baseline on the test rows: results["test"],
// results["zero_prompt"], results["comparison"] (and the classes and label words when
// classifying).
void evaluate_against_zero_prompt(prompts::PromptedLmMethod& method,
                                  prompts::PromptedLmMethod& baseline, engine::TokenData& test,
                                  const TextTask& task, const at::Device& device,
                                  nlohmann::json* results);

// The results' lines for the terminal and log.txt: top-1/macro/macro-F1, or NLL and perplexity.
std::vector<std::string> text_summary(const nlohmann::json& results);

// results["model"] of a text run.
nlohmann::json lm_model_record(const LmBundle& lm);

}  // namespace vlprompt::pipeline
