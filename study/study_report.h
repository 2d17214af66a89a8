// A study's report.html: per model and data set, the accuracy table over shots, the plots
// (accuracy against trainable parameters on a log scale, accuracy against shots with the seeds'
// spread, every method's training curve on one axis) and the combination tables, then every
// cell's costs. Static HTML with inline SVG: no script, opens from disk.
#pragma once

#include <string>
#include <vector>

#include "study/study_results.h"

namespace vlprompt::study {

// One plot of the report as a standalone SVG file: "MODEL-DATASET[-base-to-new]-KIND.svg", KIND
// parameters, shots or convergence.
struct StudyPlot {
  std::string file;
  std::string svg;
};

// `command` is the line that made the study; `notes` are shown under the title (e.g. that a
// model is a demonstration model, not CLIP). The plots are also handed back when `plots` is set.
std::string render_study_report(const StudySpec& spec, const std::vector<CellResult>& results,
                                const std::string& command, const std::vector<std::string>& notes,
                                std::vector<StudyPlot>* plots = nullptr);

}  // namespace vlprompt::study
