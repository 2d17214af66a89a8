// `vlprompt bench cocoop-step` and `vlprompt bench vpt-step`: the training step of the two
// methods whose cost grows with the data, at real shapes (CPU fp32), each against its peer
// measured in the same run:
//   cocoop-step  per image: the batched B x C text pass (end-of-text truncated) forward+backward
//                vs the official algorithm's loop over images (C prompts of 77 tokens each);
//   vpt-step     per image: the image tower forward+backward to deep prompts vs its forward.
#pragma once

#include <nlohmann/json.hpp>

#include "models/clip/clip_model.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::pipeline {

nlohmann::json bench_cocoop_step(models::Clip& model,
                                 std::shared_ptr<const text::ClipTokenizer> tokenizer,
                                 int64_t batch, const std::vector<int64_t>& class_counts,
                                 int warmup, int iters);

nlohmann::json bench_vpt_step(models::Clip& model, int64_t batch, int warmup, int iters);

}  // namespace vlprompt::pipeline
