// Trainer's data-parallel step (TrainerOptions::collective): this rank's shard of the global
// batch, then one bucketed all-reduce of the weighted gradients, loss and right answers.
#include "src/core/error.h"
#include "src/engine/trainer.h"
#include "src/engine/trainer_run.h"

namespace vlprompt::engine {

double Trainer::train_step_shard(Run& r, const std::vector<int64_t>& global, int64_t epoch,
                                 const std::string& where, at::Tensor& correct) {
  Collective& group = *options_.collective();
  const int64_t n = static_cast<int64_t>(global.size()), world = group.world_size();
  const int64_t per = (n + world - 1) / world;
  const int64_t begin = std::min(n, group.rank() * per), end = std::min(n, begin + per);
  r.optimizer->zero_grad();
  double loss = 0, right = 0;
  if (end > begin) {
    const Batch batch =
        to_device(r.train.batch_shard(global, epoch, begin, end), options_.device());
    const StepOutput out = forward_backward(r, batch, where);
    loss = out.loss.item<double>();
    right = out.logits.argmax(-1).eq(batch.labels).sum().item<double>();
  }
  // One bucket: every gradient weighted by this shard's share of the batch, a flag per parameter
  // (whether any rank gave it a gradient: one without stays without, as in one process), the
  // weighted loss and the right answers.
  const double share = static_cast<double>(end - begin) / static_cast<double>(n);
  const std::vector<at::Tensor>& params = r.optimizer->parameters();
  std::vector<at::Tensor> parts;
  for (const auto& p : params) {
    const at::Tensor g = p.grad().defined() ? p.grad().detach() : at::zeros_like(p);
    parts.push_back(g.to(at::kCPU, at::kFloat).reshape(-1) * share);
  }
  std::vector<float> tail;
  for (const auto& p : params) tail.push_back(p.grad().defined() ? 1.0f : 0.0f);
  tail.push_back(static_cast<float>(loss * share));
  tail.push_back(static_cast<float>(right));
  parts.push_back(at::tensor(tail, at::kFloat));
  at::Tensor flat = at::cat(parts);
  group.all_reduce_sum(flat);
  int64_t offset = 0;
  const int64_t flags = flat.numel() - static_cast<int64_t>(params.size()) - 2;
  for (size_t i = 0; i < params.size(); ++i) {
    const at::Tensor& p = params[i];
    const at::Tensor sum = flat.narrow(0, offset, p.numel()).view(p.sizes());
    offset += p.numel();
    at::Tensor grad;
    if (flat[flags + static_cast<int64_t>(i)].item<float>() > 0) grad = sum.to(p.options());
    const_cast<at::Tensor&>(p).mutable_grad() = grad;
  }
  const double global_loss = flat[flat.numel() - 2].item<double>();
  check_loss(r, global_loss, where);
  if (options_.optimizer().clip_grad_norm() > 0) {
    clip_grad_norm(params, options_.optimizer().clip_grad_norm());
  }
  r.optimizer->step();
  correct += static_cast<int64_t>(flat[flat.numel() - 1].item<double>() + 0.5);
  return global_loss;
}

}  // namespace vlprompt::engine
