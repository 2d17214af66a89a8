// The `optim` and `train` sections of a run config (keys and defaults follow Dassl's OPTIM and
// TRAIN/TEST as CoOp sets them), and their translation into TrainerOptions.
//
//   YAML::Node defaults;
//   add_trainer_defaults(defaults);                       // the built-in layer
//   auto config = core::resolve_config(sources);
//   Trainer trainer(make_trainer_options(config, run_dir, device));
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "src/core/config.h"
#include "src/engine/trainer.h"

namespace vlprompt::engine {

struct OptimConfig {
  std::string name = "sgd";
  double lr = 0.002;
  double weight_decay = 5e-4;
  double momentum = 0.9;
  double dampening = 0;
  bool nesterov = false;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double eps = 1e-8;
  double clip_grad_norm = 0;
  std::string lr_scheduler = "cosine";
  int64_t warmup_epoch = 0;
  double warmup_cons_lr = 1e-5;

  template <class V>
  void visit(V& v) {
    v("name", name, "optimizer: sgd | adamw");
    v("lr", lr, "base learning rate");
    v("weight_decay", weight_decay, "L2 penalty (sgd) or decoupled decay (adamw)");
    v("momentum", momentum, "sgd momentum");
    v("dampening", dampening, "sgd dampening");
    v("nesterov", nesterov, "sgd Nesterov momentum");
    v("adam_beta1", adam_beta1, "adamw first-moment decay");
    v("adam_beta2", adam_beta2, "adamw second-moment decay");
    v("eps", eps, "adamw denominator epsilon");
    v("clip_grad_norm", clip_grad_norm,
      "clip the gradients' global L2 norm to this before each step (0: off)");
    v("lr_scheduler", lr_scheduler, "cosine | constant (per epoch)");
    v("warmup_epoch", warmup_epoch, "epochs at warmup_cons_lr before the schedule starts");
    v("warmup_cons_lr", warmup_cons_lr, "learning rate during warm-up");
  }
};

struct TrainConfig {
  int64_t max_epoch = 10;
  int64_t batch_size = 32;
  int64_t seed = 1;
  bool drop_last = true;
  int64_t checkpoint_every = 1;
  std::string select = "last";
  std::string precision = "fp32";
  std::string progress = "auto";
  int64_t target_batch_size = 32;
  bool task_mask = false;

  template <class V>
  void visit(V& v) {
    v("max_epoch", max_epoch, "training epochs");
    v("batch_size", batch_size, "training batch size");
    v("seed", seed, "seed for shuffling and the method's random draws");
    v("drop_last", drop_last, "drop the last partial batch when the split has a full one");
    v("checkpoint_every", checkpoint_every, "epochs between checkpoints (the last is always kept)");
    v("select", select, "final state: last | best_val (highest val top-1)");
    v("precision", precision, "fp32 | bf16 (CUDA autocast)");
    v("progress", progress, "auto | bar | lines | off");
    v("target_batch_size", target_batch_size,
      "unlabelled target images drawn with each batch (domain adaptation, --target)");
    v("task_mask", task_mask,
      "--tasks runs: train on the current task's classes only (L2P's train_mask); false: on "
      "every class seen so far");
  }
};

// Adds the `optim` and `train` sections with their defaults.
void add_trainer_defaults(YAML::Node& defaults);

// Reads and checks both sections (unknown keys and bad choices name their layer).
TrainerOptions make_trainer_options(const core::ResolvedConfig& config, const std::string& run_dir,
                                    const at::Device& device);

}  // namespace vlprompt::engine
