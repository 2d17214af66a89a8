// vlprompt methods: the registered prompt-learning methods (prompts/, each registering itself).
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "prompts/registry.h"
#include "tools/cli/command.h"

namespace vlprompt::cli {
namespace {

int run_methods(bool json) {
  const std::vector<std::string> names = prompts::method_names();
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& n : names) {
      const auto& m = prompts::find_method(n);
      out.push_back({{"name", n}, {"kind", m.kind()}, {"description", m.description}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("%-16s %-8s %s\n", "method", "kind", "description");
  for (const auto& n : names) {
    const auto& m = prompts::find_method(n);
    std::printf("%-16s %-8s %s\n", n.c_str(), m.kind().c_str(), m.description.c_str());
  }
  std::printf("\nDeltas stack: --method A+B trains both on one frozen backbone.\n");
  return 0;
}

Runner setup_methods(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  app.add_flag("--json", *json, "print JSON");
  app.footer("Example:\n  vlprompt methods\n  vlprompt train --method coop ...");
  return [json] { return run_methods(*json); };
}

}  // namespace

VLPROMPT_COMMAND(methods, "list the registered prompt-learning methods", setup_methods);

}  // namespace vlprompt::cli
