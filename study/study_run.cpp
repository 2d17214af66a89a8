#include "study/study_run.h"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "study/cell_runner.h"
#include "study/study_grid.h"
#include "study/study_markdown.h"
#include "study/study_report.h"
#include "study/study_results.h"

namespace vlprompt::study {
namespace {

// Ctrl-C reaches the training child, which stops after its batch and keeps its checkpoint; the
// study itself must outlive it to say so. A handler (not SIG_IGN, which exec would pass on).
volatile std::sig_atomic_t interrupted = 0;
void on_interrupt(int) { interrupted = 1; }

std::string duration(double seconds) {
  char buf[32];
  const int s = static_cast<int>(seconds + 0.5);
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%dh%02dm", s / 3600, s / 60 % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%dm%02ds", s / 60, s % 60);
  }
  return buf;
}

// The shipped demonstration models say what they are wherever their numbers appear.
std::vector<std::string> model_notes(const StudySpec& spec) {
  std::vector<std::string> out;
  for (const auto& m : spec.models) {
    if (m == "tiny-pretrained" || m == "tiny-pretrained-lm") {
      out.push_back(m +
                    " is vlprompt's small demonstration model (models/pretrained/), pretrained "
                    "here on Debian's data: its numbers show the methods working, not CLIP's or "
                    "LLaMA's accuracy.");
    }
  }
  return out;
}

void write_outputs(const StudySpec& spec, const std::vector<Cell>& cells, const StudyPaths& paths,
                   const std::string& command) {
  const std::vector<CellResult> results = read_results(spec, cells, paths);
  nlohmann::json j = study_json(spec, results);
  j["command"] = command;
  core::atomic_write(paths.dir + "/study.json", j.dump(2) + "\n");
  std::vector<StudyPlot> plots;
  core::atomic_write(paths.dir + "/report.html",
                     render_study_report(spec, results, command, model_notes(spec), &plots));
  for (const auto& p : plots) core::atomic_write(paths.dir + "/plots/" + p.file, p.svg);
  core::atomic_write(paths.dir + "/study.md", study_markdown(spec, results));
  std::cout << "[study] wrote " << paths.dir << "/study.json, report.html, study.md and "
            << plots.size() << " plots in plots/ (" << j["cells_done"] << " of " << cells.size()
            << " cells finished)\n";
}

}  // namespace

int run_study(const StudyOptions& o) {
  if (o.out.empty()) throw Error("study: --out DIR is required (the study folder)");
  StudySpec spec = read_study(study_path(o.config));
  if (!o.models.empty()) spec.models = o.models;
  const std::vector<Cell> cells = expand_cells(spec);
  StudyPaths paths{o.out, o.executable};
  std::filesystem::create_directories(o.out);
  if (o.dry_run) {
    for (const auto& c : cells) {
      for (const auto& s : cell_steps(spec, c, o.out)) {
        std::cout << "vlprompt";
        for (const auto& a : s.argv) std::cout << " " << a;
        std::cout << "\n";
      }
    }
    return 0;
  }
  if (o.report_only) {
    write_outputs(spec, cells, paths, o.command);
    return 0;
  }
  struct sigaction action {
  }, previous{};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &previous);
  size_t finished = 0, ran = 0, elsewhere = 0, failed = 0;
  double seconds = 0;
  int code = 0;
  for (size_t i = 0; i < cells.size() && !interrupted; ++i) {
    const Cell& cell = cells[i];
    const std::vector<CellStep> steps = cell_steps(spec, cell, o.out);
    if (!cell_finished(steps)) {
      std::cout << "[study] cell " << i + 1 << "/" << cells.size() << " " << cell.id << " ..."
                << std::endl;
    }
    const CellRun run = run_cell(paths, cell, steps);
    switch (run.outcome) {
      case CellOutcome::kAlreadyDone:
        ++finished;
        break;
      case CellOutcome::kRunningElsewhere:
        ++elsewhere;
        std::cout << "[study]   held by another process, left to it\n";
        break;
      case CellOutcome::kDone:
        ++finished, ++ran, seconds += run.seconds;
        break;
      case CellOutcome::kInterrupted:
        interrupted = 1;
        break;
      case CellOutcome::kFailed:
        ++failed;
        std::cerr << "[study] cell " << cell.id << " failed (exit " << run.exit_code
                  << "): " << run.failed_command << "\n[study]   its log: " << run.log << "\n";
        break;
    }
    if (run.outcome == CellOutcome::kFailed && !o.keep_going) {
      code = 1;
      break;
    }
    if (run.outcome == CellOutcome::kDone) {
      const size_t left = cells.size() - finished - failed - elsewhere;
      std::cout << "[study]   done in " << duration(run.seconds) << "; " << finished << "/"
                << cells.size() << " cells finished, ETA " << duration(seconds / ran * left)
                << std::endl;
    }
  }
  sigaction(SIGINT, &previous, nullptr);
  write_outputs(spec, cells, paths, o.command);
  if (interrupted) {
    std::cerr << "[study] interrupted; the cell keeps its checkpoint. Run the same command to go "
                 "on.\n";
    return 130;
  }
  if (failed || elsewhere) {
    std::cerr << "[study] " << failed << " cell(s) failed, " << elsewhere
              << " running in another process; study.json holds what has finished\n";
    return 1;
  }
  return code;
}

}  // namespace vlprompt::study
