// Runs a cell's `vlprompt` commands as child processes of the given executable, so a cell that
// crashes or runs out of memory takes down itself, not the study, and its peak memory is the
// kernel's count for that process (wait4's ru_maxrss). Bookkeeping lives beside the cells in
// DIR/study_state/: one lock, one log (the children's stdout and stderr) and one record per cell.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "study/study_grid.h"

namespace vlprompt::study {

enum class CellOutcome {
  kDone,              // finished now
  kAlreadyDone,       // results.json was there: skipped
  kRunningElsewhere,  // another process holds the cell's lock
  kFailed,            // a command exited non-zero (the log says why)
  kInterrupted,       // Ctrl-C reached the child, which kept its checkpoint (exit 130)
};

struct CellRun {
  CellOutcome outcome = CellOutcome::kDone;
  double seconds = 0;  // wall time of the commands run now
  std::string log;     // the cell's log file
  int exit_code = 0;
  std::string failed_command;
};

struct StudyPaths {
  std::string dir;         // the study folder (--out)
  std::string executable;  // the vlprompt binary the cells run
  std::string state_dir() const { return dir + "/study_state"; }
  std::string flat(const Cell& cell) const;  // the cell id as one file name
  std::string lock(const Cell& cell) const { return state_dir() + "/locks/" + flat(cell); }
  std::string log(const Cell& cell) const { return state_dir() + "/logs/" + flat(cell) + ".log"; }
  std::string record(const Cell& cell) const {
    return state_dir() + "/cells/" + flat(cell) + ".json";
  }
};

// Whether every command of the cell has its results.json.
bool cell_finished(const std::vector<CellStep>& steps);

// Takes the cell's lock and runs the commands not yet done, resuming a train step cut short.
// Appends each command's exit code, seconds and peak resident bytes to the cell's record.
CellRun run_cell(const StudyPaths& paths, const Cell& cell, const std::vector<CellStep>& steps);

// The cell's record (commands run, their seconds and peak memory); null when none was run by a
// study (cells copied in, or finished before records were kept).
nlohmann::json read_cell_record(const StudyPaths& paths, const Cell& cell);

}  // namespace vlprompt::study
