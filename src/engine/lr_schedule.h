// Learning rate per epoch, as Dassl builds it for CoOp: CosineAnnealingLR(T_max = max_epoch,
// eta_min = 0), optionally wrapped in ConstantWarmupScheduler (warmup_epochs at warmup_lr, with
// WARMUP_RECOUNT: the cosine restarts its count when warm-up ends). Epoch e (0-based) trains at
//
//   e < warmup_epochs:  warmup_lr
//   otherwise:          cosine at t = e - warmup_epochs   (t = 0 gives the base lr)
//
// so with warm-up the cosine never reaches its last max_epoch - t values. lr_at() is a pure
// function of the epoch: a resumed run needs no scheduler state.
#pragma once

#include <torch/arg.h>

#include <cstdint>
#include <string>

namespace vlprompt::engine {

struct ScheduleOptions {
  TORCH_ARG(std::string, name) = "cosine";  // cosine | constant
  TORCH_ARG(int64_t, warmup_epochs) = 0;
  TORCH_ARG(double, warmup_lr) = 1e-5;
};

class LrSchedule {
 public:
  // Error naming the value for an unknown name, max_epoch < 1 or negative warm-up.
  LrSchedule(ScheduleOptions options, double base_lr, int64_t max_epoch);

  // The lr that 0-based `epoch` trains at.
  double lr_at(int64_t epoch) const;

 private:
  double cosine_at(int64_t t) const;

  ScheduleOptions options_;
  double base_lr_;
  int64_t max_epoch_;
};

}  // namespace vlprompt::engine
