#include "src/engine/trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "src/core/error.h"
#include "src/engine/evaluate.h"
#include "src/engine/interrupt.h"
#include "src/engine/trainer_run.h"

namespace vlprompt::engine {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Every epoch draws from generators seeded by (seed, epoch, stream) alone, so a resumed run
// replays epoch e exactly as an uninterrupted one would, with no generator state saved.
// Stream 0 shuffles; stream 1 seeds the global generator for whatever the method draws
// (dropout, noise).
uint64_t epoch_seed(int64_t seed, int64_t epoch, uint64_t stream) {
  return splitmix64(splitmix64(static_cast<uint64_t>(seed)) ^
                    splitmix64(static_cast<uint64_t>(epoch) * 2 + stream));
}

// Detached CPU copies: the method's own tensors keep changing after this.
core::TensorMap snapshot(const core::TensorMap& state) {
  core::TensorMap out;
  for (const auto& [name, t] : state) {
    out[name] = t.detach().to(t.options().device(at::kCPU), /*non_blocking=*/false, /*copy=*/true);
  }
  return out;
}

std::string epoch_of(int64_t epoch, int64_t max_epoch) {
  return std::to_string(epoch + 1) + "/" + std::to_string(max_epoch);
}

nlohmann::json optimizer_json(const OptimizerOptions& o) {
  nlohmann::json j = {{"name", o.name()},
                      {"lr", o.lr()},
                      {"weight_decay", o.weight_decay()},
                      {"momentum", o.momentum()},
                      {"dampening", o.dampening()},
                      {"nesterov", o.nesterov()},
                      {"beta1", o.beta1()},
                      {"beta2", o.beta2()},
                      {"eps", o.eps()}};
  // Only when on, so checkpoints written before the key existed still resume.
  if (o.clip_grad_norm() > 0) j["clip_grad_norm"] = o.clip_grad_norm();
  return j;
}

}  // namespace

// PyTorch's clip_grad_norm_ rule: the global L2 norm over every gradient; when it exceeds
// max_norm, every gradient is scaled by max_norm / (norm + 1e-6). Parameters without a gradient
// are left out.
void clip_grad_norm(const std::vector<at::Tensor>& parameters, double max_norm) {
  std::vector<at::Tensor> grads, norms;
  for (const auto& p : parameters) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (grads.empty()) return;
  for (const auto& g : grads) norms.push_back(g.detach().norm(2));
  const at::Tensor total = at::stack(norms).norm(2);
  const at::Tensor coef = at::clamp_max(max_norm / (total + 1e-6), 1.0);
  for (auto& g : grads) g.detach().mul_(coef.to(g.device()));
}

Select parse_select(const std::string& name) {
  if (name == "last") return Select::kLast;
  if (name == "best_val") return Select::kBestVal;
  throw Error("select: unknown value '" + name + "'; expected last or best_val");
}

std::string select_name(Select select) { return select == Select::kBestVal ? "best_val" : "last"; }

Trainer::Trainer(TrainerOptions options) : options_(std::move(options)) {}

TrainResult Trainer::fit(Method& method, TrainData& train, EvalData* val) {
  if (has_checkpoint(options_.run_dir())) {
    throw FileError(checkpoint_dir(options_.run_dir()),
                    "this run folder already holds a checkpoint; resume it or choose a new folder");
  }
  return run(method, train, val, nullptr);
}

TrainResult Trainer::resume(Method& method, TrainData& train, EvalData* val) {
  const Checkpoint checkpoint = load_checkpoint(options_.run_dir());
  check_resumable(checkpoint, method, train);
  return run(method, train, val, &checkpoint);
}

void Trainer::validate(const TrainData& train, const EvalData* val) const {
  const auto positive = [](const char* name, int64_t value) {
    if (value < 1)
      throw Error(std::string("trainer: ") + name + " must be >= 1, got " + std::to_string(value));
  };
  positive("max_epoch", options_.max_epoch());
  positive("batch_size", options_.batch_size());
  positive("checkpoint_every", options_.checkpoint_every());
  positive("training set size", train.size());
  if (options_.select() == Select::kBestVal && val == nullptr) {
    throw Error(
        "trainer: select=best_val needs val data, and there is none (test data is never "
        "used to pick a model); give a val split or use select=last");
  }
  check_precision(options_.precision(), options_.device());
}

nlohmann::json Trainer::trajectory_options(const Method& method, const TrainData& train) const {
  const ScheduleOptions& s = options_.schedule();
  nlohmann::json j = {
      {"method_hyperparameters", method.hyperparameters()},
      {"backbone_fingerprint", method.backbone_fingerprint()},
      {"max_epoch", options_.max_epoch()},
      {"batch_size", options_.batch_size()},
      {"seed", options_.seed()},
      {"drop_last", options_.drop_last()},
      {"select", select_name(options_.select())},
      {"precision", precision_name(options_.precision())},
      {"train_size", train.size()},
      {"optimizer", optimizer_json(options_.optimizer())},
      {"schedule",
       {{"name", s.name()}, {"warmup_epochs", s.warmup_epochs()}, {"warmup_lr", s.warmup_lr()}}}};
  // Recorded, not required: a run may resume on another number of ranks (with a warning).
  j["world_size"] = options_.collective() ? options_.collective()->world_size() : 1;
  return j;
}

void Trainer::check_resumable(const Checkpoint& checkpoint, const Method& method,
                              const TrainData& train) const {
  const std::string where = checkpoint_dir(options_.run_dir()) + "/checkpoint.json";
  if (checkpoint.method != method.name()) {
    throw FileError(where, "the checkpoint is of method '" + checkpoint.method +
                               "', this run trains '" + method.name() + "'");
  }
  nlohmann::json current = trajectory_options(method, train);  // items() must not outlive it
  const int64_t world = current["world_size"].get<int64_t>();
  const int64_t saved_world = checkpoint.options.value("world_size", int64_t{1});
  current.erase("world_size");
  if (world != saved_world && (!options_.collective() || options_.collective()->rank() == 0)) {
    std::fprintf(stderr,
                 "[vlprompt] warning: resuming on %lld ranks a run checkpointed on %lld: the "
                 "global batch is the same, but each rank's shard and the order the gradients "
                 "are summed in differ, so the rest of the run is not bit-identical to either\n",
                 static_cast<long long>(world), static_cast<long long>(saved_world));
  }
  for (const auto& [key, value] : current.items()) {
    const nlohmann::json saved = checkpoint.options.value(key, nlohmann::json());
    if (saved != value) {
      // Inside a map (the method's hyper-parameters), name the entry that changed too: an edited
      // class_token_position in the run's config.yaml is found by name, not by diffing JSON.
      std::string entry;
      if (value.is_object() && saved.is_object()) {
        for (const auto& [k, v] : value.items()) {
          if (saved.value(k, nlohmann::json()) != v) {
            entry = " ('" + key + "." + k + "' is " + v.dump() + " now but " +
                    saved.value(k, nlohmann::json()).dump() +
                    "; was the run's config.yaml edited?)";
            break;
          }
        }
      }
      throw FileError(where, "cannot resume: '" + key + "' is " + value.dump() + " now but " +
                                 saved.dump() + " in the checkpoint" + entry);
    }
  }
}

TrainResult Trainer::run(Method& method, TrainData& train, EvalData* val, const Checkpoint* from) {
  validate(train, val);
  std::filesystem::create_directories(options_.run_dir());
  method.to(options_.device());
  // Restore before collecting parameters, so the optimizer sees the tensors training will use.
  if (from) method.load_state(from->method_state);
  Run r(method, train, val, make_optimizer(options_.optimizer(), method.trainable_parameters()),
        LrSchedule(options_.schedule(), options_.optimizer().lr(), options_.max_epoch()),
        trajectory_options(method, train), resolve_progress_mode(options_.progress()));
  if (from) {
    r.optimizer->load_state(from->optimizer_state);
    r.history = from->history;
    r.best_state = from->best_state;
    r.best_epoch = from->best_epoch;
    r.best_val_top1 = from->best_val_top1;
    r.checkpoint_epoch = from->epoch;
  }
  method.before_train({train, val, options_.device(), r.checkpoint_epoch});
  InterruptGuard interrupt_guard;
  for (int64_t epoch = r.checkpoint_epoch; epoch < options_.max_epoch(); ++epoch) {
    if (interrupt_requested() || !train_epoch(r, epoch))
      return finish(r, TrainStatus::kInterrupted);
  }
  return finish(r, TrainStatus::kCompleted);
}

int64_t Trainer::batches_per_epoch(int64_t n) const {
  const int64_t batch_size = options_.batch_size();
  const bool drop = options_.drop_last() && n >= batch_size;
  return drop ? n / batch_size : (n + batch_size - 1) / batch_size;
}

bool Trainer::train_epoch(Run& r, int64_t epoch) {
  const auto start = Clock::now();
  const int64_t n = r.train.size(), batch_size = options_.batch_size();
  const int64_t num_batches = batches_per_epoch(n);
  const at::Tensor order = at::randperm(
      n, at::make_generator<at::CPUGeneratorImpl>(epoch_seed(options_.seed(), epoch, 0)),
      at::kLong);
  at::manual_seed(epoch_seed(options_.seed(), epoch, 1));
  const double lr = r.schedule.lr_at(epoch);
  r.optimizer->set_lr(lr);
  r.method.set_training(true);

  Progress progress(r.progress, "epoch " + epoch_of(epoch, options_.max_epoch()), num_batches);
  double loss_sum = 0;
  int64_t seen = 0;
  at::Tensor correct = at::zeros({}, at::TensorOptions(options_.device()).dtype(at::kLong));
  for (int64_t b = 0; b < num_batches; ++b) {
    const int64_t* ids = order.data_ptr<int64_t>() + b * batch_size;
    const std::vector<int64_t> indices(ids, ids + std::min(batch_size, n - b * batch_size));
    const std::string where = "epoch " + epoch_of(epoch, options_.max_epoch()) + ", batch " +
                              std::to_string(b + 1) + "/" + std::to_string(num_batches);
    double loss = 0;
    if (options_.collective()) {
      loss = train_step_shard(r, indices, epoch, where, correct);
    } else {
      const Batch batch = to_device(r.train.batch(indices, epoch), options_.device());
      loss = train_step(r, batch, where, correct);
    }
    loss_sum += loss;
    seen += static_cast<int64_t>(indices.size());
    char status[64];
    std::snprintf(status, sizeof(status), "loss %.4f", loss);
    progress.update(b + 1, status);
    if (interrupt_requested()) {
      progress.finish();
      report_interrupt(r, where);
      return false;
    }
  }
  progress.finish();
  EpochRecord record;
  record.epoch = epoch + 1;
  record.lr = lr;
  record.loss = loss_sum / num_batches;
  record.train_acc = 100.0 * correct.item<int64_t>() / seen;
  record.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  record.steps = num_batches;
  record.step_seconds = record.seconds;
  finish_epoch(r, epoch, record);
  return true;
}

double Trainer::train_step(Run& r, const Batch& batch, const std::string& where,
                           at::Tensor& correct) {
  r.optimizer->zero_grad();
  const StepOutput out = forward_backward(r, batch, where);
  const double value = out.loss.item<double>();  // one sync per batch: NaN must stop the step
  check_loss(r, value, where);
  if (options_.optimizer().clip_grad_norm() > 0) {
    clip_grad_norm(r.optimizer->parameters(), options_.optimizer().clip_grad_norm());
  }
  r.optimizer->step();
  correct += out.logits.argmax(-1).eq(batch.labels).sum();
  return value;
}

StepOutput Trainer::forward_backward(Run& r, const Batch& batch, const std::string& where) {
  StepOutput out;
  {
    AutocastGuard autocast(options_.precision(), options_.device());
    out = r.method.train_step(batch, where);
  }
  if (!out.loss.defined() || out.loss.numel() != 1 || !out.logits.defined()) {
    throw Error(r.method.name() + ": train_step at " + where +
                " must return one loss value and the batch's logits");
  }
  return out;
}

void Trainer::check_loss(const Run& r, double value, const std::string& where) const {
  if (std::isfinite(value)) return;
  const std::string kept = r.checkpoint_epoch > 0
                               ? "the last good checkpoint (epoch " +
                                     std::to_string(r.checkpoint_epoch) + ") is kept in " +
                                     checkpoint_dir(options_.run_dir())
                               : "no checkpoint was written yet";
  throw Error(r.method.name() + ": loss is " + std::to_string(value) + " at " + where +
              "; training stopped and " + kept);
}

void Trainer::report_interrupt(const Run& r, const std::string& where) const {
  if (r.progress == ProgressMode::kOff) return;
  std::fprintf(stderr,
               "Interrupted after %s. The checkpoint of epoch %lld is kept in %s; resume from the "
               "run folder %s to continue.\n",
               where.c_str(), static_cast<long long>(r.checkpoint_epoch),
               checkpoint_dir(options_.run_dir()).c_str(), options_.run_dir().c_str());
}

void Trainer::finish_epoch(Run& r, int64_t epoch, EpochRecord record) {
  const auto start = Clock::now();
  r.method.after_epoch({r.train, r.val, options_.device(), epoch});
  record.extra = r.method.epoch_metrics({r.train, r.val, options_.device(), epoch});
  if (r.val) {
    const double top1 =
        options_.collective()
            ? evaluate_sharded(r.method, *r.val, options_.device(), options_.precision(),
                               *options_.collective())
                  .top1
            : evaluate(r.method, *r.val, options_.device(), options_.precision()).top1;
    record.val_top1 = top1;
    if (r.best_epoch == 0 || top1 > r.best_val_top1) {  // strict: a tie keeps the earlier epoch
      r.best_epoch = record.epoch;
      r.best_val_top1 = top1;
      if (options_.select() == Select::kBestVal) r.best_state = snapshot(r.method.state());
    }
  }
  record.seconds += std::chrono::duration<double>(Clock::now() - start).count();
  r.history.push_back(record);
  write_metrics(options_.run_dir(), r.history);
  if ((epoch + 1) % options_.checkpoint_every() == 0 || epoch + 1 == options_.max_epoch()) {
    save_checkpoint(options_.run_dir(),
                    {r.method.name(), epoch + 1, r.method.state(), r.optimizer->state(),
                     r.best_state, r.best_epoch, r.best_val_top1, r.history, r.options});
    r.checkpoint_epoch = epoch + 1;
  }
  if (r.progress == ProgressMode::kOff) return;
  char val[32] = "";
  if (record.val_top1) std::snprintf(val, sizeof(val), "  val %.2f", *record.val_top1);
  std::fprintf(stderr, "epoch %s  lr %.3e  loss %.4f  acc %.2f%s  (%s)\n",
               epoch_of(epoch, options_.max_epoch()).c_str(), record.lr, record.loss,
               record.train_acc, val, format_duration(record.seconds).c_str());
}

TrainResult Trainer::finish(Run& r, TrainStatus status) {
  TrainResult out;
  out.status = status;
  out.history = r.history;
  out.epochs_completed = static_cast<int64_t>(r.history.size());
  out.best_epoch = r.best_epoch;
  out.best_val_top1 = r.best_val_top1;
  if (status == TrainStatus::kInterrupted) return out;
  if (options_.select() == Select::kBestVal) {
    out.final_state = r.best_state;
    out.selected_epoch = r.best_epoch;
    r.method.load_state(out.final_state);
  } else {
    out.final_state = snapshot(r.method.state());
    out.selected_epoch = out.epochs_completed;
  }
  return out;
}

}  // namespace vlprompt::engine
