// The --model, --vocab and --init-seed options every CLIP subcommand takes.
#pragma once

#include <CLI/CLI.hpp>

#include "pipeline/model_loading.h"

namespace vlprompt::cli {

// Adds --model (required), --vocab and --init-seed to a subcommand.
void add_model_options(CLI::App& app, pipeline::ModelArgs& args);

}  // namespace vlprompt::cli
