// `vlprompt bench allreduce`: what a data-parallel step costs in communication, per method, at a
// real architecture's shapes. Each method's delta is built on a random-weight model of `config`
// (its YAML's defaults) for the number of values it trains; the ranks then time the Trainer's
// one bucketed all-reduce of that many float32 values (gradients plus the step's few extras) over
// the group they run in (c10d Gloo). Run it under --nproc N or the launch variables.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "src/engine/collective.h"

namespace vlprompt::pipeline {

nlohmann::json bench_allreduce(engine::Collective& group, const std::string& config,
                               const std::string& vocab, int warmup, int iters);

}  // namespace vlprompt::pipeline
