// The files a finished run leaves in its folder besides the checkpoint: results.json,
// report.html and log.txt (results are JSON, never parsed out of logs).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/engine/checkpoint.h"

namespace vlprompt::engine {

// Writes results.json and report.html (curves from `history`), atomically.
void write_run_outputs(const std::string& run_dir, const nlohmann::json& results,
                       const std::vector<engine::EpochRecord>& history);

// Appends lines to RUN/log.txt (rewritten atomically: it is small).
void append_log(const std::string& run_dir, const std::vector<std::string>& lines);

// "a photo of a {}." top-1 etc. from a metrics JSON, as one comparison row.
nlohmann::json comparison_row(const std::string& name, const nlohmann::json& metrics);

}  // namespace vlprompt::engine
