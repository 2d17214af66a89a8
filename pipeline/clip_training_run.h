// `vlprompt train` for a delta on a frozen CLIP (CoOp, CoCoOp, VPT, DAPL, MaPLe, IVLP, stacks, the
// linear probe): few-shot splits of an image dataset, features or images in the loop as the
// method needs, the dataset's hand-written prompt as the baseline, and with --target the
// domain-adaptation protocol.
#pragma once

#include <memory>

#include "pipeline/training_run.h"

namespace vlprompt::pipeline {

// Loads the model, the splits (and the target) and builds the method; prints what it loaded.
std::unique_ptr<TrainingRun> make_clip_training_run(const TrainArgs& args,
                                                    const core::ResolvedConfig& config);

}  // namespace vlprompt::pipeline
