// `train --resume RUN` rebuilds the run from RUN/run.json. Arguments given beside it that would
// change the run (--shots, --seed, --dataset, --out, key=value, ...) used to be dropped without a
// word; now each must agree with the run's own, or the command stops naming both values.
#pragma once

#include <string>
#include <vector>

#include "pipeline/train_args.h"

namespace vlprompt::pipeline {

// RUN/run.json read back; FileError naming it when it is not JSON or not a run's arguments.
TrainArgs read_run_json(const std::string& path);

// `given_options`: the option names the user gave ("--shots", "overrides"), `given` their values;
// `saved` is RUN/run.json (named `run_json` in errors), `run_dir` the --resume folder. Where the
// data and the device are (--data-root, --target-data-root, --device) may change on resume.
void check_resume_arguments(const TrainArgs& given, const std::vector<std::string>& given_options,
                            const TrainArgs& saved, const std::string& run_dir,
                            const std::string& run_json);

}  // namespace vlprompt::pipeline
