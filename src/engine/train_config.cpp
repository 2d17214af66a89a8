#include "src/engine/train_config.h"

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
                     .eps(optim.eps))
      .schedule(ScheduleOptions()
                    .name(optim.lr_scheduler)
                    .warmup_epochs(optim.warmup_epoch)
                    .warmup_lr(optim.warmup_cons_lr));
}

}  // namespace vlprompt::engine
