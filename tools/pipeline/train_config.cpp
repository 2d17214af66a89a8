#include "tools/pipeline/train_config.h"

#include <algorithm>
#include <filesystem>

#include "src/core/error.h"
#include "src/engine/train_config.h"

namespace vlprompt::pipeline {
namespace {

std::string section_name(const std::string& method) {
  std::string s = method;
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

std::string method_yaml(const std::string& method) {
  const std::string dir = std::getenv("VLPROMPT_METHOD_CONFIG_DIR")
                              ? std::getenv("VLPROMPT_METHOD_CONFIG_DIR")
                              : VLPROMPT_METHOD_CONFIG_DIR_DEFAULT;
  const std::string path = dir + "/" + section_name(method) + ".yaml";
  return std::filesystem::exists(path) ? path : "";
}

// CoOp's protocol ties the epoch count to the shots (50 / 100 / 100 / 200 / 200; ImageNet 50).
void apply_epochs_by_shots(core::ResolvedConfig& c, const TrainArgs& a) {
  const YAML::Node table = c.tree["epochs_by_shots"];
  if (!table.IsDefined() || !table.IsMap()) return;
  const std::string origin = c.origin_of("train.max_epoch");
  if (origin != core::kDefaultsSource && origin != method_yaml(a.method)) return;
  int64_t epochs = -1;
  if (a.dataset == "imagenet" && table["imagenet"]) {
    epochs = table["imagenet"].as<int64_t>();
  } else if (table["shots"] && table["shots"][a.shots]) {
    epochs = table["shots"][a.shots].as<int64_t>();
  }
  if (epochs > 0) c.tree["train"]["max_epoch"] = epochs;
}

}  // namespace

YAML::Node method_section(const core::ResolvedConfig& config, const std::string& method) {
  const YAML::Node& tree = config.tree;
  const YAML::Node n = tree[section_name(method)];
  return n.IsDefined() ? YAML::Clone(n) : YAML::Node(YAML::NodeType::Map);
}

core::ResolvedConfig resolve_train_config(const TrainArgs& a, bool resumed) {
  core::ConfigSources src;
  src.defaults = YAML::Node(YAML::NodeType::Map);
  engine::add_trainer_defaults(src.defaults);
  src.config_file = a.config_file;
  if (!resumed) {
    src.method_yaml = method_yaml(a.method);
    src.overrides.push_back("train.seed=" + std::to_string(a.seed));
    src.overrides.insert(src.overrides.end(), a.overrides.begin(), a.overrides.end());
  }
  core::ResolvedConfig c = core::resolve_config(src);
  core::check_sections(c, {"optim", "train", "epochs_by_shots", section_name(a.method)});
  if (!resumed) {
    apply_epochs_by_shots(c, a);
    // The method's own random initialisation follows the run seed unless set explicitly.
    YAML::Node m = c.tree[section_name(a.method)];
    if (m.IsDefined() && m.IsMap() && !m["seed"]) m["seed"] = a.seed;
  }
  return c;
}

}  // namespace vlprompt::pipeline
