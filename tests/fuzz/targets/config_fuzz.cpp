// The YAML config merge: the input is a --config file layered over the built-in trainer defaults
// and CoOp's method YAML; comment lines "#= key=value" in it become command-line overrides. The
// typed reads and the resolved dump (a run folder's config.yaml) follow, as `train` does them.
#include <sstream>

#include "src/core/config.h"
#include "src/engine/train_config.h"
#include "tests/fuzz/fuzz_target.h"

namespace fz = vlprompt::fuzz;
namespace core = vlprompt::core;
namespace engine = vlprompt::engine;

namespace {

std::vector<std::string> overrides_in(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("#= ", 0) == 0) out.push_back(line.substr(3));
  }
  return out;
}

core::ResolvedConfig read_all(const core::ConfigSources& sources) {
  core::ResolvedConfig c = core::resolve_config(sources);
  core::check_sections(c, {"optim", "train", "coop", "epochs_by_shots"});
  core::read_config<engine::OptimConfig>(c, "optim");
  core::read_config<engine::TrainConfig>(c, "train");
  return c;
}

}  // namespace

VLPROMPT_FUZZ_TARGET(config) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  core::ConfigSources sources;
  sources.defaults = YAML::Node(YAML::NodeType::Map);
  core::add_defaults<engine::OptimConfig>(sources.defaults, "optim");
  core::add_defaults<engine::TrainConfig>(sources.defaults, "train");
  sources.method_yamls = {VLPROMPT_SOURCE_DIR "/prompts/configs/coop.yaml"};
  sources.config_file = fz::write_input(data, size, "config.yaml");
  sources.overrides = overrides_in(text);
  const std::string dumped = core::dump_config(read_all(sources));
  // A run folder's config.yaml, read back as a --config file, must resolve to the same config.
  core::ConfigSources again;
  again.config_file = fz::write_input(reinterpret_cast<const uint8_t*>(dumped.data()),
                                      dumped.size(), "dumped.yaml");
  const std::string redumped = core::dump_config(read_all(again));
  if (redumped != dumped)
    fz::fail("config.yaml does not read back:\n" + dumped + "\n--\n" + redumped);
}
