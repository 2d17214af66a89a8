// The `vlprompt` binary: parses the command line and runs one registered subcommand. Errors reach
// the user as one line naming the file/key/value at fault; exit status 1.
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "src/core/blas_info.h"
#include "src/core/error.h"
#include "tools/cli/command.h"

namespace vlprompt::cli {
std::vector<Command>& commands() {
  static std::vector<Command> all;
  return all;
}
}  // namespace vlprompt::cli

int main(int argc, char** argv) {
  using namespace vlprompt::cli;
  // LibTorch here starts with one intra-op thread; use every core unless the user said otherwise.
  if (!std::getenv("OMP_NUM_THREADS")) {
    at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  }
  CLI::App app{"vlprompt: prompt learning on frozen vision-language models"};
  const vlprompt::core::BlasInfo blas = vlprompt::core::loaded_blas();
  app.set_version_flag("--version", [&blas] {
    return std::string("vlprompt ") + VLPROMPT_VERSION + "\nlibtorch " + TORCH_VERSION +
           "\nblas: " + blas.summary() + (blas.config.empty() ? "" : " (" + blas.config + ")") +
           "\nintra-op threads: " + std::to_string(at::get_num_threads());
  });
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, Runner>> runners;
  for (const Command& c : commands()) {
    CLI::App* sub = app.add_subcommand(c.name, c.description);
    runners.emplace_back(sub, c.setup(*sub));
  }
  // Said on every run: a slow BLAS otherwise costs 2.5x-30x with no visible cause.
  if (const std::string w = blas.warning(); !w.empty()) std::cerr << w << "\n";
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [sub, run] : runners) {
      if (sub->parsed()) return run();
    }
  } catch (const vlprompt::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
