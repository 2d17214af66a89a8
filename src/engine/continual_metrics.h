// The numbers of a class-incremental run, from its accuracy matrix: acc[i][t] is task i's test
// accuracy (percent) after training task t, defined for i <= t. The formulas are the L2P code's
// (JH-LEE-KR/l2p-pytorch, engine.py evaluate_till_now), one value per task trained:
//   average_accuracy[t]   = mean over i <= t of acc[i][t]
//   forgetting[t]         = mean over i < t of (max over t' <= t of acc[i][t']) - acc[i][t]
//   backward_transfer[t]  = mean over i < t of acc[i][t] - acc[i][i]
// forgetting and backward transfer are undefined (null) after the first task: no earlier task.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace vlprompt::engine {

struct ContinualMetrics {
  std::vector<double> average_accuracy;
  std::vector<std::optional<double>> forgetting;
  std::vector<std::optional<double>> backward_transfer;
};

// `columns[t]` holds acc[0..t][t] (the accuracies measured after task t). Error when column t does
// not hold t + 1 values.
ContinualMetrics continual_metrics(const std::vector<std::vector<double>>& columns);

// The square matrix acc[i][t] with null where i > t (task i not yet seen).
nlohmann::json accuracy_matrix_json(const std::vector<std::vector<double>>& columns);

// {"accuracy_matrix", "average_accuracy", "forgetting", "backward_transfer"}.
nlohmann::json continual_json(const std::vector<std::vector<double>>& columns);

// The log's lines for results.json's `continual` section: the matrix and the numbers per task.
std::vector<std::string> continual_summary_lines(const nlohmann::json& continual);

}  // namespace vlprompt::engine
