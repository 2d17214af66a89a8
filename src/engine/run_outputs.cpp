#include "src/engine/run_outputs.h"

#include "src/core/file_io.h"
#include "src/engine/report.h"

namespace vlprompt::engine {

void write_run_outputs(const std::string& run_dir, const nlohmann::json& results,
                       const std::vector<engine::EpochRecord>& history) {
  core::atomic_write(run_dir + "/results.json", results.dump(2) + "\n");
  std::vector<nlohmann::json> metrics;
  for (const auto& r : history) metrics.push_back(r.to_json());
  core::atomic_write(run_dir + "/report.html", engine::render_report(results, metrics));
}

void append_log(const std::string& run_dir, const std::vector<std::string>& lines) {
  const std::string path = run_dir + "/log.txt";
  std::string text = core::file_exists(path) ? core::read_file(path) : "";
  for (const auto& l : lines) text += l + "\n";
  core::atomic_write(path, text);
}

nlohmann::json comparison_row(const std::string& name, const nlohmann::json& metrics) {
  return {{"name", name},
          {"top1", metrics.value("top1", 0.0)},
          {"top5", metrics.value("top5", 0.0)},
          {"macro", metrics.value("macro", 0.0)},
          {"n", metrics.value("n", 0)}};
}

}  // namespace vlprompt::engine
