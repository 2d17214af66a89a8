// What a run folder keeps so training can stop and continue bit for bit:
//
//   RUN/metrics.jsonl                    one JSON object per completed epoch
//   RUN/checkpoint/epoch-0007.safetensors  method/*, optimizer/*, best/* tensors
//   RUN/checkpoint/checkpoint.json       epoch, best epoch, history, the run's options, and the
//                                        name of the tensor file above
//
// The tensor file is written first under a new name, then checkpoint.json (atomically) points at
// it, then older tensor files are removed: a crash at any moment leaves a consistent checkpoint.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "src/core/safetensors.h"

namespace vlprompt::engine {

// One line of metrics.jsonl. `epoch` counts from 1 (the first epoch is epoch 1), as in logs.
struct EpochRecord {
  int64_t epoch = 0;
  double lr = 0;
  double loss = 0;                 // mean of the batch losses (as Dassl's meter)
  double train_acc = 0;            // percent of training samples classified right during the epoch
  std::optional<double> val_top1;  // percent; absent without val data (null in JSON)
  double seconds = 0;
  // Optimizer steps in the epoch and the seconds they took (seconds adds validation and the
  // checkpoint); 0 in records written before they were kept.
  int64_t steps = 0;
  double step_seconds = 0;
  // The method's own numbers for the epoch (Method::epoch_metrics), written beside the above.
  std::map<std::string, double> extra;

  nlohmann::json to_json() const;
  // Error naming `where` and the missing or mistyped field.
  static EpochRecord from_json(const nlohmann::json& j, const std::string& where);
};

struct Checkpoint {
  std::string method;  // Method::name(), checked on resume
  int64_t epoch = 0;   // epochs completed
  core::TensorMap method_state;
  core::TensorMap optimizer_state;
  core::TensorMap best_state;  // empty until a best val epoch exists (select = best_val)
  int64_t best_epoch = 0;      // 0 = none yet
  double best_val_top1 = 0;
  std::vector<EpochRecord> history;
  nlohmann::json options;  // what shapes the trajectory; must match on resume
};

std::string checkpoint_dir(const std::string& run_dir);
bool has_checkpoint(const std::string& run_dir);

void save_checkpoint(const std::string& run_dir, const Checkpoint& checkpoint);
// FileError naming the file for a missing, malformed or inconsistent checkpoint.
Checkpoint load_checkpoint(const std::string& run_dir);

// Rewrites RUN/metrics.jsonl from `history` (small: one line per epoch), atomically.
void write_metrics(const std::string& run_dir, const std::vector<EpochRecord>& history);

}  // namespace vlprompt::engine
