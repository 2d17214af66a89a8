// What `vlprompt summarize` needs from a finished run: the results.json of `train` or `eval`
// reduced to the keys that decide which runs are repeats of one experiment (differing only in
// seed) and the two numbers it averages.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace vlprompt::engine {

struct RunRecord {
  std::string file;  // the results.json read
  std::string command;
  std::string dataset;     // evaluated on
  std::string trained_on;  // differs from `dataset` for cross-dataset evaluations
  std::string backbone;    // architecture name
  std::string method;
  // The delta's hyper-parameters except its seed (from the eval's delta section, or from the
  // train run's delta.safetensors beside results.json): runs that differ here are different
  // experiments.
  std::map<std::string, std::string> settings;
  std::string subsample;
  int64_t shots = 0;
  int64_t seed = 0;
  double test_top1 = 0;
  double manual_top1 = 0;  // the dataset's hand-written prompt on the same test images
};

// `path`: a run folder or its results.json. FileError naming the file for a missing, garbled or
// incomplete one, or one from another command (zeroshot).
RunRecord read_run_record(const std::string& path);

// A row label per record: the method name, plus the settings that vary among the records of
// that method ("coop [csc=true]"), plus "(from DATASET)" for a cross-dataset evaluation.
std::vector<std::string> method_labels(const std::vector<RunRecord>& records);

}  // namespace vlprompt::engine
