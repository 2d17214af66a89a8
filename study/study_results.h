// What a study's cells measured, read back from their run folders (results.json, metrics.jsonl,
// delta.safetensors) and the runner's records, and reduced over seeds: the numbers of study.json
// and of the report.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "study/cell_runner.h"
#include "study/study_grid.h"

namespace vlprompt::study {

struct CurvePoint {
  int64_t step = 0;  // optimizer steps so far (a sequence's stages add up)
  double train_acc = 0, loss = 0;
};

struct CellResult {
  const Cell* cell = nullptr;
  bool done = false;
  double top1 = 0, macro = 0, macro_f1 = 0;
  // The hand-written prompt (CLIP) or zero-prompt model (LM) on the same test items.
  double baseline_top1 = 0, baseline_macro_f1 = 0;
  // Base-to-new: the new classes' top-1 (and the baseline's) and the harmonic mean with base.
  std::optional<double> new_top1, new_baseline_top1, hm, baseline_hm;
  int64_t parameters = 0;   // values in the delta file: what the method adds to the frozen model
  int64_t delta_bytes = 0;  // size of the delta file
  std::optional<int64_t> peak_rss_bytes;   // the largest of the cell's commands
  std::optional<double> seconds_per_step;  // training batches only (fitted methods: none)
  std::optional<int64_t> steps_to_90;      // first step with 90% of the final train accuracy
  std::optional<double> train_seconds;     // wall time of the cell's commands
  std::vector<CurvePoint> curve;
};

// Mean, sample std (0 for a single value), min and max of one number over seeds.
struct Spread {
  double mean = 0, std = 0, lo = 0, hi = 0;
  size_t n = 0;
};
Spread spread_of(const std::vector<double>& values);

// Reads every cell (finished or not: `done` says). A finished cell whose files are garbled is a
// FileError naming the file.
std::vector<CellResult> read_results(const StudySpec& spec, const std::vector<Cell>& cells,
                                     const StudyPaths& paths);

// study.json: the spec, every cell with its numbers, and per (model, dataset, method, shots) the
// mean, sample std, min and max over seeds.
nlohmann::json study_json(const StudySpec& spec, const std::vector<CellResult>& results);

// The delta's size for a method at `shots` (a cache grows with the shots); the first cell's when
// none ran at that count.
int64_t parameters_at(const std::vector<const CellResult*>& cells, int64_t shots);

// The first step whose train accuracy reaches 90% of the last one's (an empty curve: none).
std::optional<int64_t> steps_to_fraction(const std::vector<CurvePoint>& curve, double fraction);

}  // namespace vlprompt::study
