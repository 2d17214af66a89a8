// The arguments of `vlprompt train`, saved as RUN/run.json so `--resume RUN` rebuilds the very
// same run from its folder alone.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pipeline/model_loading.h"

namespace vlprompt::pipeline {

struct TrainArgs {
  std::string method;  // a registered method or deltas joined by '+'
  ModelArgs model;
  std::string dataset, data_root, subsample = "all", config_file, out, resume, device = "cpu";
  std::vector<std::string> overrides;
  int64_t shots = 16;
  uint64_t seed = 1;
  bool no_augment = false;
  int64_t aug_views = 0;
  int64_t eval_batch_size = 64;
  std::string init_delta;    // a trained delta the new members are stacked on
  bool freeze_init = false;  // ... kept frozen (sequential combination)
  // Domain adaptation: the unlabelled target dataset (its labels are never read by training),
  // where it lives ("" = data_root), and at most this many of its train images (0 = all).
  std::string target, target_data_root;
  int64_t target_max = 0;
  // Text LMs: "classify" (rank classification through label words) or "lm" (causal LM on
  // completions). Image runs ignore it.
  std::string task = "classify";
  // Class-incremental learning: > 0 splits the dataset's classes into this many tasks trained one
  // after the other (pipeline/continual_run.h); "seeded" shuffles the classes by the run seed
  // first, "given" keeps the dataset's order.
  int64_t tasks = 0;
  std::string task_order = "seeded";

  nlohmann::json to_json() const;
  static TrainArgs from_json(const nlohmann::json& j, const std::string& where);
};

}  // namespace vlprompt::pipeline
