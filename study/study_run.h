// `vlprompt study`: runs every cell of a study not yet finished (skipping finished ones,
// resuming cut-short ones, leaving to another process the ones it holds), then writes
// DIR/study.json and DIR/report.html from whatever has finished.
#pragma once

#include <string>
#include <vector>

#include "study/study_spec.h"

namespace vlprompt::study {

struct StudyOptions {
  std::string config;               // a study file, or the name of one in prompts/studies/
  std::string out;                  // the study folder
  std::vector<std::string> models;  // replaces the file's models when given
  std::string executable;           // the vlprompt binary the cells run
  bool keep_going = false;          // a failed cell does not stop the others
  bool report_only = false;         // run nothing: write study.json and report.html
  bool dry_run = false;             // print the commands, run nothing
  std::string command;              // the command line, for the report
};

// 0 when every cell is finished, 1 when some failed or run in another process, 130 when Ctrl-C
// stopped a cell (it keeps its checkpoint; the same command resumes it).
int run_study(const StudyOptions& options);

}  // namespace vlprompt::study
