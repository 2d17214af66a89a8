#include "src/engine/train_config.h"

#include <c10/util/StringUtil.h>

#include <cmath>

namespace vlprompt::engine {

void add_trainer_defaults(YAML::Node& defaults) {
  core::add_defaults<OptimConfig>(defaults, "optim");
  core::add_defaults<TrainConfig>(defaults, "train");
}

TrainerOptions make_trainer_options(const core::ResolvedConfig& config, const std::string& run_dir,
                                    const at::Device& device) {
  const auto optim = core::read_config<OptimConfig>(config, "optim");
  const auto train = core::read_config<TrainConfig>(config, "train");
  core::check_choice(config, "optim.name", optim.name, {"sgd", "adamw"});
  core::check_choice(config, "optim.lr_scheduler", optim.lr_scheduler, {"cosine", "constant"});
  core::check_choice(config, "train.select", train.select, {"last", "best_val"});
  core::check_choice(config, "train.precision", train.precision, {"fp32", "bf16"});
  core::check_choice(config, "train.progress", train.progress, {"auto", "bar", "lines", "off"});
  // Ranges the optimizers are defined on; NaN fails every test below as well.
  const auto require = [&](const char* key, double value, bool ok, const char* expected) {
    if (!ok) core::fail_key(config, key, "is " + c10::str(value) + "; expected " + expected);
  };
  require("optim.lr", optim.lr, optim.lr > 0 && std::isfinite(optim.lr), "a number > 0");
  require("optim.weight_decay", optim.weight_decay,
          optim.weight_decay >= 0 && std::isfinite(optim.weight_decay), "a number >= 0");
  require("optim.momentum", optim.momentum, optim.momentum >= 0 && optim.momentum < 1,
          "a number in [0, 1)");
  require("optim.dampening", optim.dampening, optim.dampening >= 0 && optim.dampening <= 1,
          "a number in [0, 1]");
  require("optim.adam_beta1", optim.adam_beta1, optim.adam_beta1 >= 0 && optim.adam_beta1 < 1,
          "a number in [0, 1)");
  require("optim.adam_beta2", optim.adam_beta2, optim.adam_beta2 >= 0 && optim.adam_beta2 < 1,
          "a number in [0, 1)");
  require("optim.eps", optim.eps, optim.eps > 0 && std::isfinite(optim.eps), "a number > 0");
  require("optim.clip_grad_norm", optim.clip_grad_norm,
          optim.clip_grad_norm >= 0 && std::isfinite(optim.clip_grad_norm), "a number >= 0");
  require("optim.warmup_cons_lr", optim.warmup_cons_lr,
          optim.warmup_cons_lr >= 0 && std::isfinite(optim.warmup_cons_lr), "a number >= 0");
  if (optim.warmup_epoch < 0) {
    core::fail_key(config, "optim.warmup_epoch",
                   "is " + std::to_string(optim.warmup_epoch) + "; expected an integer >= 0");
  }
  return TrainerOptions(run_dir)
      .max_epoch(train.max_epoch)
      .batch_size(train.batch_size)
      .seed(train.seed)
      .drop_last(train.drop_last)
      .checkpoint_every(train.checkpoint_every)
      .select(parse_select(train.select))
      .precision(parse_precision(train.precision))
      .progress(parse_progress_mode(train.progress))
      .device(device)
      .optimizer(OptimizerOptions()
                     .name(optim.name)
                     .lr(optim.lr)
                     .weight_decay(optim.weight_decay)
                     .momentum(optim.momentum)
                     .dampening(optim.dampening)
                     .nesterov(optim.nesterov)
                     .beta1(optim.adam_beta1)
                     .beta2(optim.adam_beta2)
                     .eps(optim.eps)
                     .clip_grad_norm(optim.clip_grad_norm))
      .schedule(ScheduleOptions()
                    .name(optim.lr_scheduler)
                    .warmup_epochs(optim.warmup_epoch)
                    .warmup_lr(optim.warmup_cons_lr));
}

}  // namespace vlprompt::engine
