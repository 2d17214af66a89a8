// The config of a training run, in the fixed order of core::resolve_config:
//   built-in defaults < dataset YAML < method YAML(s) < --config < key=value
// The dataset layer is datasets/configs/<dataset>.yaml when it exists; the method layer is
// prompts/configs/<member>.yaml for every member of the method ("coop+vpt": coop.yaml, then
// vpt.yaml). The run's --seed is the lowest command-line override, and the epoch count follows the
// method's `epochs_by_shots` table unless a user layer set train.max_epoch.
#pragma once

#include <string>
#include <vector>

#include "src/core/config.h"

namespace vlprompt::prompts {

struct RunConfigRequest {
  std::string method;   // "coop", "coop+vpt", "linear-probe"
  std::string dataset;  // catalog name (its dataset YAML, its epochs_by_shots row) or a folder
  int64_t shots = 16;
  uint64_t seed = 1;
  std::string config_file;             // --config; "" = none
  std::vector<std::string> overrides;  // key=value
  // The model is a LLaMA-family LM (decides the kind of a method that trains on either).
  bool llama_model = false;
};

// Where method and dataset YAMLs live: $VLPROMPT_METHOD_CONFIG_DIR / $VLPROMPT_DATASET_CONFIG_DIR,
// else the source tree's prompts/configs and datasets/configs. "" when the file does not exist.
std::string method_yaml(const std::string& member);
std::string dataset_yaml(const std::string& dataset);

core::ResolvedConfig resolve_run_config(const RunConfigRequest& request);

// A resumed run reads its folder's config.yaml, already fully resolved: only the known sections
// are checked.
core::ResolvedConfig read_resolved_config(const std::string& path, const std::string& method);

}  // namespace vlprompt::prompts
