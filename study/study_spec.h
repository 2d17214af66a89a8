// A study: a grid of methods (single deltas, stacks trained together, sequences trained one on
// top of the other) x models x datasets x shots x seeds, read from one YAML file
// (prompts/studies/*.yaml). Every cell of the grid is an ordinary `vlprompt train` run folder; the
// spec only says which runs to make and how to label them.
//
//   study: vpt-baselines                 # a name for titles
//   description: one line
//   models: [tiny-pretrained]            # replaced by `vlprompt study --model M ...`
//   datasets: [fashion_mnist]
//   shots: [16]
//   seeds: [1, 2, 3]
//   protocols: [all]                     # and/or base-to-new (train on base, also evaluate new)
//   args: [--no-augment]                 # train flags of every cell
//   overrides: [train.max_epoch=20]      # key=value of every cell (before the method's own)
//   methods:
//     - {label: hand-written, baseline: true}      # read from the cells' results, not a run
//     - {label: LoRA, method: lora, overrides: [optim.lr=0.003]}
//     - {label: Prompt+BitFit, method: prompt_tuning+bitfit, group: simultaneous}
//     - {label: Prompt->BitFit, sequence: [prompt_tuning, bitfit], group: sequential}
//   cells:                               # per-cell overrides, applied last
//     - when: {method: LoRA, shots: [1, 2]}
//       overrides: [train.max_epoch=40]
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vlprompt::study {

struct StudyMethod {
  std::string label;  // the row's name in tables and plots; unique in the study
  // The methods trained one after the other, each on top of the previous ones held fixed
  // (`--init-delta --freeze-init`); one entry for a single run ("lora", "coop+vpt").
  std::vector<std::string> stages;
  std::vector<std::string> args;       // train flags
  std::vector<std::string> overrides;  // key=value
  // The hand-written prompt / zero-prompt row: every trained cell's results.json already holds
  // it on the same test items, so it is read from them instead of run again.
  bool baseline = false;
  std::string group;  // "" (a method), "simultaneous" or "sequential": the combination tables
  // false: the delta is tied to its training classes (a cache of labelled features, a head), so
  // it has no base-to-new cells.
  bool base_to_new = true;
};

// Extra args/overrides for the cells that match every key of `when` (model, dataset, method
// label, shots, seed, protocol; each one value or a list).
struct CellRule {
  std::map<std::string, std::vector<std::string>> when;
  std::vector<std::string> args;
  std::vector<std::string> overrides;
};

struct StudySpec {
  std::string file;  // where it was read from
  std::string name;
  std::string description;
  std::vector<std::string> models;
  std::vector<std::string> datasets;
  std::vector<int64_t> shots;
  std::vector<int64_t> seeds;
  std::vector<std::string> protocols = {"all"};  // "all", "base-to-new"
  std::string data_root;                         // --data-root of every cell ("" = the catalog's)
  std::vector<std::string> args;
  std::vector<std::string> overrides;
  std::vector<StudyMethod> methods;
  std::vector<CellRule> rules;
};

// Reads and checks a study file: unknown keys are errors naming the file, the key and the closest
// valid one; empty grids, duplicate labels, bad protocol names and methods that are not
// registered are errors naming the file and the entry.
StudySpec read_study(const std::string& path);

// `--config NAME` without a slash and no such file: prompts/studies/NAME.yaml
// ($VLPROMPT_STUDY_DIR, else the source tree's).
std::string study_path(const std::string& config);

}  // namespace vlprompt::study
