#include "prompts/registry.h"

#include <algorithm>

#include "src/core/error.h"

namespace vlprompt::prompts {
namespace {

// Function-local so registrations from other translation units' static initialisers find it
// constructed, whatever the initialisation order.
std::map<std::string, MethodEntry>& registry() {
  static std::map<std::string, MethodEntry> entries;
  return entries;
}

}  // namespace

void register_method(MethodEntry entry) {
  if (entry.name.empty()) throw Error("method registry: a method has no name");
  if (!entry.make_method || !entry.make_delta) {
    throw Error("method registry: method '" + entry.name + "' lacks a factory");
  }
  auto& entries = registry();
  if (entries.count(entry.name)) {
    throw Error("method registry: there is already a method called '" + entry.name + "'");
  }
  const std::string name = entry.name;
  entries.emplace(name, std::move(entry));
}

std::vector<std::string> method_names() {
  std::vector<std::string> names;
  for (const auto& [name, entry] : registry()) names.push_back(name);
  return names;
}

const MethodEntry& find_method(const std::string& name) {
  // Registration names are C++ identifiers ("linear_probe"); users also type "linear-probe".
  std::string key = name;
  std::replace(key.begin(), key.end(), '-', '_');
  auto it = registry().find(key);
  if (it == registry().end()) {
    std::string known;
    for (const auto& n : method_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown method '" + name + "' (registered: " + (known.empty() ? "none" : known) +
                ")");
  }
  return it->second;
}

std::unique_ptr<engine::Method> make_method(const std::string& name,
                                            const YAML::Node& method_config, models::Clip clip,
                                            std::shared_ptr<const text::ClipTokenizer> tokenizer,
                                            const std::vector<std::string>& classnames) {
  return find_method(name).make_method(method_config, std::move(clip), std::move(tokenizer),
                                       classnames);
}

LoadedDelta load_delta(const std::string& path, models::Clip clip,
                       std::shared_ptr<const text::ClipTokenizer> tokenizer) {
  delta::DeltaFile file = delta::read_delta(path);
  delta::check_backbone(file.info, clip->fingerprint(), clip->config().name);
  const MethodEntry* entry = nullptr;
  try {
    entry = &find_method(file.info.method);
  } catch (const Error& e) {
    throw FileError(path, std::string("metadata 'method': ") + e.what());
  }
  LoadedDelta out;
  try {
    out.delta = entry->make_delta(file.info, std::move(clip), std::move(tokenizer));
  } catch (const FileError&) {
    throw;
  } catch (const Error& e) {
    throw FileError(path, std::string("cannot rebuild the delta from its metadata: ") + e.what());
  }
  out.delta->load_named_tensors(file.tensors, path);
  out.info = std::move(file.info);
  return out;
}

LoadedMethod method_from_delta(const std::string& path, models::Clip clip,
                               std::shared_ptr<const text::ClipTokenizer> tokenizer,
                               const std::vector<std::string>& classnames) {
  delta::DeltaFile file = delta::read_delta(path);
  delta::check_backbone(file.info, clip->fingerprint(), clip->config().name);
  YAML::Node config(YAML::NodeType::Map);
  for (const auto& [k, v] : file.info.hyperparameters) config[k] = v;
  LoadedMethod out;
  try {
    out.method = make_method(file.info.method, config, std::move(clip), std::move(tokenizer),
                             file.info.classnames);
  } catch (const FileError&) {
    throw;
  } catch (const Error& e) {
    throw FileError(path, std::string("cannot rebuild the method from its metadata: ") + e.what());
  }
  out.method->load_state(file.tensors);
  try {
    out.method->set_classnames(classnames);
  } catch (const FileError&) {
    throw;
  } catch (const Error& e) {
    throw FileError(path, e.what());
  }
  out.info = std::move(file.info);
  return out;
}

std::map<std::string, std::string> scalar_map(const YAML::Node& node, const std::string& section) {
  std::map<std::string, std::string> out;
  if (!node || node.IsNull()) return out;
  if (!node.IsMap()) throw Error("config section '" + section + "' must be a map of keys");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (!kv.second.IsScalar()) {
      throw Error("config key '" + section + "." + key + "' must be a single value");
    }
    out[key] = kv.second.as<std::string>();
  }
  return out;
}

}  // namespace vlprompt::prompts
