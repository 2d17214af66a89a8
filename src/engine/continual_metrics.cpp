#include "src/engine/continual_metrics.h"

#include <algorithm>
#include <cstdio>

#include "src/core/error.h"

namespace vlprompt::engine {

ContinualMetrics continual_metrics(const std::vector<std::vector<double>>& columns) {
  ContinualMetrics m;
  for (size_t t = 0; t < columns.size(); ++t) {
    if (columns[t].size() != t + 1) {
      throw Error("continual metrics: after task " + std::to_string(t + 1) + " there are " +
                  std::to_string(columns[t].size()) + " accuracies, expected " +
                  std::to_string(t + 1) + " (one per task seen)");
    }
    double sum = 0;
    for (double a : columns[t]) sum += a;
    m.average_accuracy.push_back(sum / static_cast<double>(t + 1));
    if (t == 0) {
      m.forgetting.push_back(std::nullopt);
      m.backward_transfer.push_back(std::nullopt);
      continue;
    }
    double forgetting = 0, transfer = 0;
    for (size_t i = 0; i < t; ++i) {
      double best = columns[t][i];
      for (size_t s = i; s < t; ++s) best = std::max(best, columns[s][i]);
      forgetting += best - columns[t][i];
      transfer += columns[t][i] - columns[i][i];
    }
    m.forgetting.push_back(forgetting / static_cast<double>(t));
    m.backward_transfer.push_back(transfer / static_cast<double>(t));
  }
  return m;
}

nlohmann::json accuracy_matrix_json(const std::vector<std::vector<double>>& columns) {
  const size_t n = columns.size();
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < n; ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (size_t t = 0; t < n; ++t) {
      row.push_back(i <= t && i < columns[t].size() ? nlohmann::json(columns[t][i])
                                                    : nlohmann::json(nullptr));
    }
    rows.push_back(row);
  }
  return rows;
}

nlohmann::json continual_json(const std::vector<std::vector<double>>& columns) {
  const ContinualMetrics m = continual_metrics(columns);
  const auto optional_list = [](const std::vector<std::optional<double>>& values) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : values) out.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
    return out;
  };
  return {{"accuracy_matrix", accuracy_matrix_json(columns)},
          {"average_accuracy", m.average_accuracy},
          {"forgetting", optional_list(m.forgetting)},
          {"backward_transfer", optional_list(m.backward_transfer)}};
}

namespace {

std::string cell(const nlohmann::json& v) {
  if (!v.is_number()) return "       -";
  char b[32];
  std::snprintf(b, sizeof(b), "%8.2f", v.get<double>());
  return b;
}

}  // namespace

std::vector<std::string> continual_summary_lines(const nlohmann::json& continual) {
  std::vector<std::string> out;
  out.push_back("continual: " + continual.value("protocol", std::string()));
  if (continual.contains("per_task_accuracy")) {
    std::string line = "  test top-1 per task:";
    for (const auto& v : continual["per_task_accuracy"]) line += cell(v);
    out.push_back(line);
  }
  if (continual.contains("accuracy_matrix")) {
    const auto& m = continual["accuracy_matrix"];
    std::string head = "  task \\ after";
    for (size_t t = 0; t < m.size(); ++t) {
      char b[16];
      std::snprintf(b, sizeof(b), "%8zu", t + 1);
      head += b;
    }
    out.push_back(head);
    for (size_t i = 0; i < m.size(); ++i) {
      char b[32];
      std::snprintf(b, sizeof(b), "  task %-8zu", i + 1);
      std::string line = b;
      for (const auto& v : m[i]) line += cell(v);
      out.push_back(line);
    }
  }
  for (const char* key : {"average_accuracy", "forgetting", "backward_transfer"}) {
    if (!continual.contains(key)) continue;
    std::string line = std::string("  ") + key + ":";
    for (const auto& v : continual[key]) line += cell(v);
    out.push_back(line);
  }
  return out;
}

}  // namespace vlprompt::engine
