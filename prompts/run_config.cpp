#include "prompts/run_config.h"

#include <filesystem>

#include "prompts/registry.h"
#include "prompts/text_config.h"
#include "src/core/error.h"
#include "src/engine/train_config.h"

namespace vlprompt::prompts {
namespace {

std::string config_dir(const char* env, const char* fallback) {
  const char* set = std::getenv(env);
  return set ? set : fallback;
}

std::string existing(const std::string& path) { return std::filesystem::exists(path) ? path : ""; }

// CoOp's protocol ties the epoch count to the shots (50 / 100 / 100 / 200 / 200), with per-dataset
// exceptions (ImageNet: 50 at every shot count). Both live in the method's YAML:
//   epochs_by_shots: {shots: {1: 50, ...}, datasets: {imagenet: 50}}
// A user layer (--config, key=value) that sets train.max_epoch wins.
void apply_epochs_by_shots(core::ResolvedConfig& c, const RunConfigRequest& r) {
  const YAML::Node table = c.tree["epochs_by_shots"];
  if (!table.IsDefined() || !table.IsMap()) return;
  const std::string origin = c.origin_of("train.max_epoch");
  const bool user_set = origin == r.config_file || origin == core::kCommandLineSource;
  if (user_set) return;
  int64_t epochs = -1;
  const YAML::Node datasets = table["datasets"];
  if (datasets.IsDefined() && datasets.IsMap() && datasets[r.dataset]) {
    epochs = datasets[r.dataset].as<int64_t>();
  } else if (table["shots"] && table["shots"][r.shots]) {
    epochs = table["shots"][r.shots].as<int64_t>();
  }
  if (epochs > 0) c.tree["train"]["max_epoch"] = epochs;
}

std::string joined(const std::vector<std::string>& members) {
  std::string out;
  for (const auto& m : members) out += (out.empty() ? "" : "+") + m;
  return out;
}

// Text-LM runs also read the `text` section (prompts/text_config.h).
bool lm_members(const std::vector<std::string>& members, bool llama_model) {
  return !members.empty() && is_lm_method(joined(members), llama_model);
}

std::vector<std::string> sections_for(const std::vector<std::string>& members, bool llama_model) {
  std::vector<std::string> sections{"optim", "train", "epochs_by_shots"};
  if (lm_members(members, llama_model)) sections.push_back("text");
  sections.insert(sections.end(), members.begin(), members.end());
  return sections;
}

}  // namespace

std::string method_yaml(const std::string& member) {
  return existing(config_dir("VLPROMPT_METHOD_CONFIG_DIR", VLPROMPT_METHOD_CONFIG_DIR_DEFAULT) +
                  "/" + member + ".yaml");
}

std::string dataset_yaml(const std::string& dataset) {
  if (dataset.empty() || dataset.find('/') != std::string::npos) return "";
  return existing(config_dir("VLPROMPT_DATASET_CONFIG_DIR", VLPROMPT_DATASET_CONFIG_DIR_DEFAULT) +
                  "/" + dataset + ".yaml");
}

core::ResolvedConfig resolve_run_config(const RunConfigRequest& r) {
  const std::vector<std::string> members = method_members(r.method);
  core::ConfigSources src;
  src.defaults = YAML::Node(YAML::NodeType::Map);
  engine::add_trainer_defaults(src.defaults);
  if (lm_members(members, r.llama_model)) core::add_defaults<TextConfig>(src.defaults, "text");
  src.dataset_yaml = dataset_yaml(r.dataset);
  for (const auto& m : members) {
    const std::string path = method_yaml(m);
    if (!path.empty()) src.method_yamls.push_back(path);
  }
  src.config_file = r.config_file;
  src.overrides.push_back("train.seed=" + std::to_string(r.seed));
  src.overrides.insert(src.overrides.end(), r.overrides.begin(), r.overrides.end());
  core::ResolvedConfig c = core::resolve_config(src);
  core::check_sections(c, sections_for(members, r.llama_model));
  apply_epochs_by_shots(c, r);
  return c;
}

core::ResolvedConfig read_resolved_config(const std::string& path, const std::string& method) {
  core::ConfigSources src;
  src.config_file = path;
  core::ResolvedConfig c = core::resolve_config(src);
  // A run of a method that trains on either model kind saved a `text` section iff it ran on an LM.
  core::check_sections(c, sections_for(method_members(method), c.tree["text"].IsDefined()));
  return c;
}

}  // namespace vlprompt::prompts
