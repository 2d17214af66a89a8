// `vlprompt train --tasks T`: the class-incremental protocol. The dataset's classes are split
// into T tasks (datasets/class_tasks.h); one method learns them one after the other, each task an
// ordinary Trainer run in RUN/tasks/task-N/ that starts from the state the previous task left,
// with a fresh optimizer (the L2P code's reinit_optimizer). After each task every task seen so
// far is tested on its own test items, classified among all classes seen so far (class-IL); the
// column of accuracies is committed to RUN/continual_state.json with the task's final state
// (RUN/tasks/task-N/state.safetensors), so a killed run resumes mid-sequence exactly: a finished
// task is never retrained, a task cut short resumes from its last epoch checkpoint.
//
// A method fitted in closed form (the linear probe) cannot learn a sequence: it is fitted once
// on all tasks' data, the joint upper bound, and tested per task.
//
// results.json gains `continual` (engine/continual_metrics.h: accuracy_matrix, average_accuracy,
// forgetting, backward_transfer, the tasks and how they were trained); `test` is the final state
// on the whole test split, beside the hand-written prompt, as in every run.
#pragma once

#include "pipeline/train_args.h"
#include "src/core/config.h"

namespace vlprompt::pipeline {

// 0 when done, 130 when Ctrl-C stopped a task (its checkpoint is kept; --resume continues).
int train_continual(const TrainArgs& args, const core::ResolvedConfig& config, bool resumed);

}  // namespace vlprompt::pipeline
