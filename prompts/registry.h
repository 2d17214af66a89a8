// The method registry: every prompt-learning method registers itself by name with one line in
// its own .cpp (VLPROMPT_METHOD), and the CLI and engine reach it only through these functions,
// never by naming a method. vlprompt_prompts links whole-archive so no registration is dropped.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "src/delta/delta.h"
#include "src/delta/delta_file.h"
#include "src/engine/method.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::prompts {

// Builds a method to train from its own config section (the keys under `<name>:` in
// prompts/configs/<name>.yaml, after overrides), a frozen CLIP and the training class names.
using MethodFactory = std::function<std::unique_ptr<engine::Method>(
    const YAML::Node& method_config, models::Clip clip,
    std::shared_ptr<const text::ClipTokenizer> tokenizer,
    const std::vector<std::string>& classnames)>;

// Rebuilds an untrained delta of the shape a delta file describes (its hyperparameters and class
// names); load_delta() then fills in the tensors.
using DeltaFactory = std::function<std::shared_ptr<delta::Delta>(
    const delta::DeltaFileInfo& info, models::Clip clip,
    std::shared_ptr<const text::ClipTokenizer> tokenizer)>;

struct MethodEntry {
  std::string name;
  std::string description;  // one line, for `vlprompt methods`
  MethodFactory make_method;
  DeltaFactory make_delta;
};

// A second method under a taken name is an Error.
void register_method(MethodEntry entry);
// Unknown names are an Error listing the registered ones.
const MethodEntry& find_method(const std::string& name);
std::vector<std::string> method_names();  // sorted

std::unique_ptr<engine::Method> make_method(const std::string& name,
                                            const YAML::Node& method_config, models::Clip clip,
                                            std::shared_ptr<const text::ClipTokenizer> tokenizer,
                                            const std::vector<std::string>& classnames);

struct LoadedDelta {
  std::shared_ptr<delta::Delta> delta;
  delta::DeltaFileInfo info;
};
// Reads a delta file, refuses it if it was trained on other backbone weights
// (delta::check_backbone), rebuilds its method's delta and loads the tensors.
LoadedDelta load_delta(const std::string& path, models::Clip clip,
                       std::shared_ptr<const text::ClipTokenizer> tokenizer);

// A method's config section as strings (the form Delta::hyperparameters() uses), so one parser
// serves YAML and delta files. A null node is empty; a non-map or a non-scalar value is an Error
// naming `section` and the key.
// A trained method rebuilt from a delta file, ready to evaluate on `classnames` (another
// dataset's, for cross-dataset transfer): built with the file's own class list and
// hyper-parameters, its tensors loaded, then pointed at `classnames`. The backbone is checked.
struct LoadedMethod {
  std::unique_ptr<engine::Method> method;
  delta::DeltaFileInfo info;
};
LoadedMethod method_from_delta(const std::string& path, models::Clip clip,
                               std::shared_ptr<const text::ClipTokenizer> tokenizer,
                               const std::vector<std::string>& classnames);

std::map<std::string, std::string> scalar_map(const YAML::Node& node, const std::string& section);

struct MethodRegistrar {
  explicit MethodRegistrar(MethodEntry entry) { register_method(std::move(entry)); }
};

}  // namespace vlprompt::prompts

// In the method's own .cpp: VLPROMPT_METHOD(coop, "one-line description", make, make_delta);
#define VLPROMPT_METHOD(name, description, make_method, make_delta)         \
  static const ::vlprompt::prompts::MethodRegistrar vlprompt_method_##name( \
      ::vlprompt::prompts::MethodEntry{#name, description, make_method, make_delta})
