// Each `vlprompt` subcommand lives in its own file under tools/cli/ and registers itself with one
// line: VLPROMPT_COMMAND(name, "one-line description", setup). `setup` adds the subcommand's
// options (bound to state it owns) and returns the function that runs it.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace vlprompt::cli {

using Runner = std::function<int()>;
using Setup = std::function<Runner(CLI::App&)>;

struct Command {
  std::string name;
  std::string description;
  Setup setup;
};

std::vector<Command>& commands();

struct CommandRegistrar {
  CommandRegistrar(std::string name, std::string description, Setup setup) {
    commands().push_back({std::move(name), std::move(description), std::move(setup)});
  }
};

}  // namespace vlprompt::cli

#define VLPROMPT_COMMAND(name, description, setup) \
  static ::vlprompt::cli::CommandRegistrar vlprompt_command_##name(#name, description, setup)
