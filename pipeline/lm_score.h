// `vlprompt lm score`: what a frozen LM (with or without a text delta) thinks of given texts.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/llama/llama_model.h"
#include "src/nn/delta_sites.h"

namespace vlprompt::pipeline {

// One record per sequence of token ids (BOS included as the tokenizer adds it):
//   ids       the ids as given
//   logprobs  log p(ids[i+1] | ids[0..i]) for every token after the first
//   top       the 5 most likely next tokens after the last one, as [id, logit] pairs
//   ppl       exp of minus the mean of logprobs (null for a one-token text)
// Rows are scored `batch` at a time, right-padded (a causal model never attends to the padding
// after a row's end, so every row scores as if alone).
std::vector<nlohmann::json> score_sequences(models::llama::LlamaModel& model, nn::DeltaSites* sites,
                                            const std::vector<std::vector<int64_t>>& ids,
                                            int64_t batch = 16);

}  // namespace vlprompt::pipeline
