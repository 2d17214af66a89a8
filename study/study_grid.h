// The cells of a study and the `vlprompt` commands that make each one. A cell is one method on
// one model, data set, shot count and seed; it is an ordinary run folder, so `eval`, `summarize`
// and reports work on it. A sequence trains its earlier stages into `CELL/stages/K-METHOD/` and
// its last stage into CELL; base-to-new also evaluates the new classes into `CELL/new/`.
#pragma once

#include <string>
#include <vector>

#include "study/study_spec.h"

namespace vlprompt::study {

struct Cell {
  // "MODEL/DATASET/LABEL/16-shot/seed-1" ("16-shot-base-to-new" for that protocol), folder-safe:
  // the folder under DIR.
  std::string id;
  std::string model, dataset;
  std::string protocol = "all";
  const StudyMethod* method = nullptr;
  int64_t shots = 0, seed = 0;
};

// One `vlprompt` command of a cell. `out` holds results.json when it is done; a train step whose
// `out/run.json` exists without results.json was cut short and resumes.
struct CellStep {
  enum class Kind { kTrain, kEval } kind = Kind::kTrain;
  std::string out;
  std::vector<std::string> argv;  // without the program name; a fresh start (see resume_argv)
};

// Every cell of the grid, model-major then dataset, protocol, method, shots, seed (the order they
// run in). The baseline rows have no cells, nor do class-tied methods under base-to-new.
std::vector<Cell> expand_cells(const StudySpec& spec);

// The commands of `cell` under `dir`, in order. Args and overrides apply as: the study's, the
// method's, then each matching cell rule's. An override for a method section the stage does not
// train ("bitfit.x=1" while training prompt_tuning) is left out of that stage.
std::vector<CellStep> cell_steps(const StudySpec& spec, const Cell& cell, const std::string& dir);

// The command that continues a train step cut short.
std::vector<std::string> resume_argv(const CellStep& step);

// A name safe as one folder: letters, digits, '.', '_', '+' and '-' kept, others folded to '-'
// ("Prompt->BitFit" -> "prompt-bitfit"); a model path gives its file or folder name.
std::string folder_name(const std::string& text);

}  // namespace vlprompt::study
