// `vlprompt bench coop-step`: one CoOp training step at real text-tower shapes (n_ctx 16,
// 10 classes, batch 32, CPU fp32), with cached image features and with the image tower in the
// loop, plus the truncated-vs-77-token cost of the text side alone.
#pragma once

#include <nlohmann/json.hpp>

#include "models/clip/clip_model.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::pipeline {

// CoOp's text side alone: the prompts of 10 classes with 16 context vectors, forward + backward
// to the context, run to the longest end-of-text (+1) and over all 77 tokens.
nlohmann::json bench_text_backward(models::Clip& model,
                                   std::shared_ptr<const text::ClipTokenizer> tokenizer, int warmup,
                                   int iters);

nlohmann::json bench_coop_step(models::Clip& model,
                               std::shared_ptr<const text::ClipTokenizer> tokenizer, int64_t batch,
                               int warmup, int iters);

}  // namespace vlprompt::pipeline
