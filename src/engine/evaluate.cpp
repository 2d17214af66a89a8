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

ClassificationMetrics evaluate_sharded(Method& method, EvalData& data, const at::Device& device,
                                       Precision precision, Collective& group) {
  const int64_t n = data.num_batches(), world = group.world_size(), rank = group.rank();
  if (n < 1) throw Error("evaluate: the evaluation data has no batches");
  method.to(device);
  method.set_training(false);
  at::NoGradGuard no_grad;
  std::vector<std::pair<int64_t, at::Tensor>> mine;  // (batch, [rows, C + 1]: logits, label)
  // Rows per batch, then the class count (from batch 0, which rank 0 always runs).
  at::Tensor sizes = at::zeros({n + 1}, at::kFloat);
  for (int64_t b = rank; b < n; b += world) {
    const Batch batch = to_device(data.batch(b), device);
    at::Tensor logits;
    {
      AutocastGuard autocast(precision, device);
      logits = method.forward(batch);
    }
    const at::Tensor rows = at::cat(
        {logits.to(at::kCPU, at::kFloat), batch.labels.to(at::kCPU, at::kFloat).unsqueeze(1)}, 1);
    sizes[b] = rows.size(0);
    if (b == 0) sizes[n] = logits.size(-1);
    mine.emplace_back(b, rows);
  }
  group.all_reduce_sum(sizes);
  const auto* counts = sizes.data_ptr<float>();
  const int64_t classes = static_cast<int64_t>(counts[n]);
  std::vector<int64_t> offsets(n + 1, 0);
  for (int64_t b = 0; b < n; ++b) offsets[b + 1] = offsets[b] + static_cast<int64_t>(counts[b]);
  at::Tensor all = at::zeros({offsets[n], classes + 1}, at::kFloat);
  for (const auto& [b, rows] : mine) all.narrow(0, offsets[b], rows.size(0)).copy_(rows);
  group.all_reduce_sum(all);
  Evaluator evaluator(classes);
  evaluator.process(all.narrow(1, 0, classes), all.select(1, classes).round().to(at::kLong));
  return evaluator.evaluate();
}

}  // namespace vlprompt::engine
