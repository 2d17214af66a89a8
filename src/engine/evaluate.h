// Runs a method over evaluation batches and scores its logits: what the Trainer does for val
// each epoch, and what the CLI does for test splits.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "src/engine/collective.h"
#include "src/engine/evaluator.h"
#include "src/engine/method.h"
#include "src/engine/precision.h"
#include "src/engine/progress.h"
#include "src/engine/train_data.h"

namespace vlprompt::engine {

// No gradients, method in eval mode. Error when `data` has no batches. `progress` shows the
// batches done (a conditional method's test split is B x C text passes per batch: minutes).
ClassificationMetrics evaluate(Method& method, EvalData& data, const at::Device& device,
                               Precision precision = Precision::kFp32,
                               ProgressMode progress = ProgressMode::kOff,
                               const std::string& label = "eval");

// The same over a data-parallel group: rank r runs batches r, r + W, ...; their logits and labels
// are gathered (an all-reduce of a zero buffer each rank fills at its own rows: adding zeros
// is exact) and every rank scores all of them in batch order, so the metrics are the ones
// evaluate() gives in one process.
ClassificationMetrics evaluate_sharded(Method& method, EvalData& data, const at::Device& device,
                                       Precision precision, Collective& group);

}  // namespace vlprompt::engine
