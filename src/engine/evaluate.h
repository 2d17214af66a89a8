// Runs a method over evaluation batches and scores its logits: what the Trainer does for val
// each epoch, and what the CLI does for test splits.
#pragma once

#include <ATen/ATen.h>

#include "src/engine/evaluator.h"
#include "src/engine/method.h"
#include "src/engine/precision.h"
#include "src/engine/train_data.h"

namespace vlprompt::engine {

// No gradients, method in eval mode. Error when `data` has no batches.
ClassificationMetrics evaluate(Method& method, EvalData& data, const at::Device& device,
                               Precision precision = Precision::kFp32);

}  // namespace vlprompt::engine
