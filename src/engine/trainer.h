// The training loop, generic over a Method and its data: shuffle, forward, loss, backward,
// optimizer step per batch; lr schedule, val, metrics.jsonl and a checkpoint per epoch; resume
// that ends bit-identical to an uninterrupted run; model selection; Ctrl-C and NaN handling.
//
//   Trainer trainer(TrainerOptions(run_dir).max_epoch(50).device(device));
//   TrainResult result = trainer.fit(method, train_data, &val_data);
//   ... later, after a crash or Ctrl-C:
//   TrainResult result = Trainer(same_options).resume(method, train_data, &val_data);
#pragma once

#include <ATen/ATen.h>
#include <torch/arg.h>

#include <memory>
#include <string>
#include <vector>

#include "src/engine/checkpoint.h"
#include "src/engine/collective.h"
#include "src/engine/lr_schedule.h"
#include "src/engine/method.h"
#include "src/engine/optimizer.h"
#include "src/engine/precision.h"
#include "src/engine/progress.h"
#include "src/engine/train_data.h"

namespace vlprompt::engine {

// Which state a run ends with. best_val keeps the epoch with the highest val top-1; on a tie the
// earlier epoch stays (Dassl's `curr_result > best_result`). It never falls back to test data:
// without val data it is an Error.
enum class Select { kLast, kBestVal };
Select parse_select(const std::string& name);  // "last" | "best_val"
std::string select_name(Select select);

struct TrainerOptions {
  explicit TrainerOptions(std::string run_dir) : run_dir_(std::move(run_dir)) {}
  TORCH_ARG(std::string, run_dir);
  TORCH_ARG(int64_t, max_epoch) = 10;
  TORCH_ARG(int64_t, batch_size) = 32;
  TORCH_ARG(int64_t, seed) = 1;
  // Dassl's train loader: drop the last partial batch when the split holds at least one full
  // batch (`drop_last = is_train and len(data) >= batch_size`); a tiny split keeps its one batch.
  TORCH_ARG(bool, drop_last) = true;
  TORCH_ARG(int64_t, checkpoint_every) = 1;  // epochs; the last epoch is always checkpointed
  TORCH_ARG(Select, select) = Select::kLast;
  TORCH_ARG(at::Device, device) = at::Device(at::kCPU);
  TORCH_ARG(Precision, precision) = Precision::kFp32;
  TORCH_ARG(OptimizerOptions, optimizer);
  TORCH_ARG(ScheduleOptions, schedule);
  TORCH_ARG(ProgressMode, progress) = ProgressMode::kAuto;  // kOff also silences epoch lines
  // Data-parallel: this process trains its rank's contiguous shard of every global batch and the
  // shards' gradients, weighted by their share of the batch, are summed over the ranks before
  // the step (one all-reduce). Null: one process.
  TORCH_ARG(std::shared_ptr<Collective>, collective) = nullptr;
};

enum class TrainStatus { kCompleted, kInterrupted };

struct TrainResult {
  TrainStatus status = TrainStatus::kCompleted;
  // The selected state (best val epoch or last epoch), also loaded into the method. Empty when
  // interrupted: the method then holds mid-epoch tensors; resume to finish.
  core::TensorMap final_state;
  int64_t selected_epoch = 0;  // the epoch final_state comes from (1-based)
  int64_t best_epoch = 0;      // highest val top-1 so far (1-based); 0 without val data
  double best_val_top1 = 0;
  int64_t epochs_completed = 0;
  std::vector<EpochRecord> history;
};

// PyTorch's clip_grad_norm_ rule on the parameters' gradients (src/engine/trainer.cpp).
void clip_grad_norm(const std::vector<at::Tensor>& parameters, double max_norm);

class Trainer {
 public:
  explicit Trainer(TrainerOptions options);

  // A new run in options.run_dir; Error if that folder already holds a checkpoint (resume it or
  // pick another folder).
  TrainResult fit(Method& method, TrainData& train, EvalData* val = nullptr);

  // Continues the run in options.run_dir from its last checkpoint. The options that shape the
  // trajectory (epochs, batch size, seed, optimizer, schedule, ...) and the training set size
  // must match the checkpoint's: Error naming the first that differs.
  TrainResult resume(Method& method, TrainData& train, EvalData* val = nullptr);

  const TrainerOptions& options() const { return options_; }

 private:
  struct Run;  // the state of one fit/resume call

  TrainResult run(Method& method, TrainData& train, EvalData* val, const Checkpoint* from);
  void validate(const TrainData& train, const EvalData* val) const;
  nlohmann::json trajectory_options(const Method& method, const TrainData& train) const;
  void check_resumable(const Checkpoint& checkpoint, const Method& method,
                       const TrainData& train) const;
  int64_t batches_per_epoch(int64_t train_size) const;
  // Trains one epoch; false when Ctrl-C stopped it part-way.
  bool train_epoch(Run& run, int64_t epoch);
  // Forward, loss, backward, step; returns the loss. `where` names the epoch and batch in errors.
  double train_step(Run& run, const Batch& batch, const std::string& where, at::Tensor& correct);
  // The same for this rank's shard of the global batch `global` (indices into the training set),
  // with the gradients, loss and accuracy summed over the ranks.
  double train_step_shard(Run& run, const std::vector<int64_t>& global, int64_t epoch,
                          const std::string& where, at::Tensor& correct);
  // The method's forward, loss and backward for one batch (under autocast), checked.
  StepOutput forward_backward(Run& run, const Batch& batch, const std::string& where);
  // Throws when a step's loss is not finite, naming where and what checkpoint is kept.
  void check_loss(const Run& run, double value, const std::string& where) const;
  void report_interrupt(const Run& run, const std::string& where) const;
  void finish_epoch(Run& run, int64_t epoch, EpochRecord record);
  TrainResult finish(Run& run, TrainStatus status);

  TrainerOptions options_;
};

}  // namespace vlprompt::engine
