// `vlprompt bench coop-step`: one CoOp training step at real text-tower shapes (n_ctx 16, batch
// 32, CPU fp32) for each class count, with cached image features and with the image tower in the
// loop, plus the text side alone three ways: the shared prefix computed once, every prompt
// truncated at its end-of-text, and all 77 tokens.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "models/clip/clip_model.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::pipeline {

// CoOp's text side alone: the prompts of `classes` classes with 16 context vectors, forward +
// backward to the context, through each of models::TextPositions.
nlohmann::json bench_text_backward(models::Clip& model,
                                   std::shared_ptr<const text::ClipTokenizer> tokenizer,
                                   int64_t classes, int warmup, int iters);

nlohmann::json bench_coop_step(models::Clip& model,
                               std::shared_ptr<const text::ClipTokenizer> tokenizer, int64_t batch,
                               const std::vector<int64_t>& class_counts, int warmup, int iters);

}  // namespace vlprompt::pipeline
