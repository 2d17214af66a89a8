// vlprompt methods: the registered prompt-learning methods (prompts/, each registering itself),
// or one method's config keys with their defaults (`vlprompt methods coop`).
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "prompts/registry.h"
#include "tools/cli/command.h"

namespace vlprompt::cli {
namespace {

nlohmann::json keys_json(const prompts::MethodEntry& m) {
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& f : m.options())
    keys.push_back({{"key", f.key}, {"default", f.default_value}, {"help", f.help}});
  return keys;
}

int run_method_keys(const std::string& name, bool json) {
  const prompts::MethodEntry& m = prompts::find_method(name);
  if (json) {
    std::cout << nlohmann::json{{"name", m.name}, {"kind", m.kind()}, {"keys", keys_json(m)}}.dump(
                     2)
              << "\n";
    return 0;
  }
  std::printf("%s (%s): %s\n\nkeys of the `%s:` config section (and of its delta files):\n",
              m.name.c_str(), m.kind().c_str(), m.description.c_str(), m.name.c_str());
  for (const auto& f : m.options())
    std::printf("  %-22s %-16s %s\n", f.key.c_str(), f.default_value.c_str(), f.help.c_str());
  std::printf("\nSet one with %s.KEY=VALUE on the train command line, or in --config.\n",
              m.name.c_str());
  return 0;
}

int run_methods(const std::string& name, bool json) {
  if (!name.empty()) return run_method_keys(name, json);
  const std::vector<std::string> names = prompts::method_names();
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& n : names) {
      const auto& m = prompts::find_method(n);
      out.push_back({{"name", n},
                     {"kind", m.kind()},
                     {"description", m.description},
                     {"keys", keys_json(m)}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("%-16s %-8s %s\n", "method", "kind", "description");
  for (const auto& n : names) {
    const auto& m = prompts::find_method(n);
    std::printf("%-16s %-8s %s\n", n.c_str(), m.kind().c_str(), m.description.c_str());
  }
  std::printf(
      "\nDeltas stack: --method A+B trains both on one frozen backbone.\n"
      "`vlprompt methods NAME` lists a method's config keys and defaults.\n");
  return 0;
}

Runner setup_methods(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto name = std::make_shared<std::string>();
  app.add_option("name", *name, "a method: list its config keys, defaults and help");
  app.add_flag("--json", *json, "print JSON");
  app.footer(
      "Example:\n  vlprompt methods\n  vlprompt methods coop\n  vlprompt train --method coop ...");
  return [json, name] { return run_methods(*name, *json); };
}

}  // namespace

VLPROMPT_COMMAND(methods, "list the registered methods, or one method's config keys",
                 setup_methods);

}  // namespace vlprompt::cli
