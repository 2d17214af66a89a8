// `vlprompt train` for a delta on a frozen LLaMA-family LM (prompt_tuning, prefix_tuning,
// p_tuning): rank classification through label words (--task classify) or a causal LM on
// completions (--task lm), beside the zero-prompt model.
#pragma once

#include <memory>

#include "pipeline/training_run.h"

namespace vlprompt::pipeline {

// Loads the LM folder and the text splits and builds the method; prints what it loaded.
std::unique_ptr<TrainingRun> make_text_training_run(const TrainArgs& args,
                                                    const core::ResolvedConfig& config);

}  // namespace vlprompt::pipeline
