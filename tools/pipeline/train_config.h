// Config resolution for `vlprompt train`, in the fixed order of core::resolve_config: built-in
// defaults < dataset YAML < method YAML < --config < key=value. The run's --seed is the lowest
// command-line override, and the epoch count follows the shots unless a user layer set it.
#pragma once

#include "src/core/config.h"
#include "tools/pipeline/train_args.h"

namespace vlprompt::pipeline {

// For a resumed run `a.config_file` is RUN/config.yaml (already fully resolved).
core::ResolvedConfig resolve_train_config(const TrainArgs& a, bool resumed);

// The method's own section ("coop": {...}), an empty map when absent.
YAML::Node method_section(const core::ResolvedConfig& config, const std::string& method);

}  // namespace vlprompt::pipeline
