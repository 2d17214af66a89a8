// report.html for a run folder: loss and accuracy curves, per-class accuracy, the confusion
// matrix and the manual-vs-learned table, drawn as inline SVG so the page needs no network.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vlprompt::engine {

// `results`: the run's results.json (reads "title", "comparison" [{name, top1, top5, macro}],
// "test" {per_class, confusion}, "classnames"). `metrics`: the metrics.jsonl lines (reads
// "epoch", "loss", "train_acc", "val_top1", "lr" where present).
std::string render_report(const nlohmann::json& results,
                          const std::vector<nlohmann::json>& metrics);

}  // namespace vlprompt::engine
