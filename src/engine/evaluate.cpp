#include "src/engine/evaluate.h"

#include <memory>

#include "src/core/error.h"

namespace vlprompt::engine {

ClassificationMetrics evaluate(Method& method, EvalData& data, const at::Device& device,
                               Precision precision, ProgressMode progress,
                               const std::string& label) {
  const int64_t n = data.num_batches();
  if (n < 1) throw Error("evaluate: the evaluation data has no batches");
  method.to(device);
  method.set_training(false);
  at::NoGradGuard no_grad;
  std::unique_ptr<Evaluator> evaluator;  // sized by the first logits: the engine knows no classes
  Progress bar(resolve_progress_mode(progress), label, n, "batch");
  for (int64_t i = 0; i < n; ++i) {
    const Batch batch = to_device(data.batch(i), device);
    at::Tensor logits;
    {
      AutocastGuard autocast(precision, device);
      logits = method.forward(batch);
    }
    if (!evaluator) evaluator = std::make_unique<Evaluator>(logits.size(-1));
    evaluator->process(logits, batch.labels);
    bar.update(i + 1, "");
  }
  bar.finish();
  return evaluator->evaluate();
}

}  // namespace vlprompt::engine
