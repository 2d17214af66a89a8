// The state of one Trainer::fit / resume call, shared by trainer.cpp and trainer_shard.cpp (the
// engine's own; not part of the Trainer's interface).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "src/engine/trainer.h"

namespace vlprompt::engine {

struct Trainer::Run {
  Run(Method& method, TrainData& train, EvalData* val, std::unique_ptr<Optimizer> optimizer,
      LrSchedule schedule, nlohmann::json options, ProgressMode progress)
      : method(method),
        train(train),
        val(val),
        optimizer(std::move(optimizer)),
        schedule(std::move(schedule)),
        options(std::move(options)),
        progress(progress) {}

  Method& method;
  TrainData& train;
  EvalData* val;
  std::unique_ptr<Optimizer> optimizer;
  LrSchedule schedule;
  nlohmann::json options;  // the trajectory options, stored in every checkpoint
  ProgressMode progress;
  std::vector<EpochRecord> history;
  core::TensorMap best_state;  // select=best_val only
  int64_t best_epoch = 0;      // 0 = no val epoch yet
  double best_val_top1 = 0;
  int64_t checkpoint_epoch = 0;  // the epoch the newest checkpoint on disk holds
};

}  // namespace vlprompt::engine
