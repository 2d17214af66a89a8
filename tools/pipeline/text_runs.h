// Runs of text deltas on a frozen LLaMA-family model: `vlprompt train` and `vlprompt eval` for
// the methods registered as LM deltas (prompt_tuning, prefix_tuning, p_tuning). Same run folder,
// delta file, resume and reports as image runs; the baseline beside the learned delta is the
// zero-prompt model on the same template (classification) or the same completions (causal LM).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/core/config.h"

namespace vlprompt::pipeline {

struct TrainArgs;

// `vlprompt train` for an LM delta; the run's config already resolved (and written). 0 when done,
// 130 when Ctrl-C stopped it (the checkpoint is kept).
int train_text(const TrainArgs& args, const core::ResolvedConfig& config, bool resumed);

struct TextEvalArgs {
  std::string delta, model, dataset, data_root, split = "test", device = "cpu", out;
  int64_t batch_size = 16;
};
// `vlprompt eval` for a text delta file.
int eval_text(const TextEvalArgs& args);

}  // namespace vlprompt::pipeline
