#include "study/study_spec.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "prompts/registry.h"
#include "src/core/config.h"
#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::study {
namespace {

constexpr uint64_t kMaxStudyBytes = 1 << 20;

// Errors name the file and the entry ("methods[3].sequence").
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw FileError(file_, where + ": " + what);
  }

  void check_keys(const YAML::Node& map, const std::string& where,
                  const std::vector<std::string>& known) const {
    if (!map.IsMap()) fail(where, "expected a map of keys");
    for (const auto& kv : map) {
      const std::string key = kv.first.as<std::string>();
      bool found = false;
      for (const auto& k : known) found = found || k == key;
      if (!found) {
        fail(where,
             "unknown key '" + key + "' (did you mean '" + core::closest_key(key, known) + "'?)");
      }
    }
  }

  std::string scalar(const YAML::Node& node, const std::string& where) const {
    if (!node.IsScalar()) fail(where, "expected a single value");
    return node.as<std::string>();
  }

  // A value or a list of values, as text.
  std::vector<std::string> strings(const YAML::Node& node, const std::string& where) const {
    std::vector<std::string> out;
    if (!node.IsDefined() || node.IsNull()) return out;
    if (node.IsScalar()) return {node.as<std::string>()};
    if (!node.IsSequence()) fail(where, "expected a value or a list of values");
    for (size_t i = 0; i < node.size(); ++i) {
      out.push_back(scalar(node[i], where + "[" + std::to_string(i) + "]"));
    }
    return out;
  }

  std::vector<int64_t> integers(const YAML::Node& node, const std::string& where,
                                int64_t minimum) const {
    std::vector<int64_t> out;
    for (const auto& s : strings(node, where)) {
      char* end = nullptr;
      const long long v = std::strtoll(s.c_str(), &end, 10);
      if (s.empty() || *end != '\0' || v < minimum || v > 1000000) {
        fail(where, "'" + s + "' is not an integer >= " + std::to_string(minimum));
      }
      out.push_back(v);
    }
    if (out.empty()) fail(where, "expected at least one value");
    return out;
  }

  bool boolean(const YAML::Node& node, const std::string& where) const {
    const std::string s = scalar(node, where);
    if (s == "true") return true;
    if (s == "false") return false;
    fail(where, "'" + s + "' is not true or false");
  }

 private:
  std::string file_;
};

void check_method_name(const Reader& r, const std::string& method, const std::string& where) {
  try {
    prompts::method_members(method);
  } catch (const Error& e) {
    r.fail(where, e.what());
  }
}

StudyMethod read_method(const Reader& r, const YAML::Node& node, const std::string& where) {
  r.check_keys(
      node, where,
      {"label", "method", "sequence", "args", "overrides", "baseline", "group", "base_to_new"});
  StudyMethod m;
  if (node["baseline"]) m.baseline = r.boolean(node["baseline"], where + ".baseline");
  if (node["method"]) m.stages.push_back(r.scalar(node["method"], where + ".method"));
  if (node["sequence"]) {
    if (!m.stages.empty()) r.fail(where, "give either 'method' or 'sequence', not both");
    m.stages = r.strings(node["sequence"], where + ".sequence");
    if (m.stages.size() < 2) r.fail(where + ".sequence", "a sequence needs two methods or more");
  }
  if (m.baseline != m.stages.empty()) {
    r.fail(where, m.baseline ? "a baseline row is read from the cells, it has no method"
                             : "expected 'method', 'sequence' or 'baseline: true'");
  }
  for (size_t i = 0; i < m.stages.size(); ++i) {
    check_method_name(r, m.stages[i], where + (m.stages.size() > 1 ? ".sequence" : ".method"));
  }
  m.label = node["label"] ? r.scalar(node["label"], where + ".label")
                          : (m.stages.empty() ? "" : m.stages.front());
  if (m.label.empty()) r.fail(where, "a baseline row needs a label");
  m.args = r.strings(node["args"], where + ".args");
  m.overrides = r.strings(node["overrides"], where + ".overrides");
  if (node["base_to_new"]) m.base_to_new = r.boolean(node["base_to_new"], where + ".base_to_new");
  if (node["group"]) {
    m.group = r.scalar(node["group"], where + ".group");
    if (m.group != "simultaneous" && m.group != "sequential") {
      r.fail(where + ".group", "'" + m.group + "' is not simultaneous or sequential");
    }
  }
  return m;
}

CellRule read_rule(const Reader& r, const YAML::Node& node, const std::string& where) {
  r.check_keys(node, where, {"when", "args", "overrides"});
  CellRule rule;
  const YAML::Node when = node["when"];
  if (!when) r.fail(where, "a cell rule needs 'when' (which cells it applies to)");
  r.check_keys(when, where + ".when", {"model", "dataset", "method", "shots", "seed", "protocol"});
  for (const auto& kv : when) {
    const std::string key = kv.first.as<std::string>();
    rule.when[key] = r.strings(kv.second, where + ".when." + key);
  }
  rule.args = r.strings(node["args"], where + ".args");
  rule.overrides = r.strings(node["overrides"], where + ".overrides");
  return rule;
}

}  // namespace

StudySpec read_study(const std::string& path) {
  const std::string text = core::read_regular_file(path, kMaxStudyBytes);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw FileError(path, std::string("not valid YAML: ") + e.what());
  }
  const Reader r(path);
  r.check_keys(root, "the study",
               {"study", "description", "models", "datasets", "shots", "seeds", "protocols",
                "data_root", "args", "overrides", "methods", "cells"});
  StudySpec s;
  s.file = path;
  s.name = root["study"] ? r.scalar(root["study"], "study")
                         : std::filesystem::path(path).stem().string();
  if (root["description"]) s.description = r.scalar(root["description"], "description");
  s.models = r.strings(root["models"], "models");
  s.datasets = r.strings(root["datasets"], "datasets");
  if (s.datasets.empty()) r.fail("datasets", "expected at least one data set");
  s.shots = r.integers(root["shots"], "shots", 1);
  s.seeds = r.integers(root["seeds"], "seeds", 0);
  if (root["protocols"]) s.protocols = r.strings(root["protocols"], "protocols");
  if (s.protocols.empty()) r.fail("protocols", "expected all, base-to-new or both");
  for (const auto& p : s.protocols) {
    if (p != "all" && p != "base-to-new")
      r.fail("protocols", "'" + p + "' is not all or base-to-new");
  }
  if (root["data_root"]) s.data_root = r.scalar(root["data_root"], "data_root");
  s.args = r.strings(root["args"], "args");
  s.overrides = r.strings(root["overrides"], "overrides");
  const YAML::Node methods = root["methods"];
  if (!methods || !methods.IsSequence() || methods.size() == 0) {
    r.fail("methods", "expected a list of methods");
  }
  std::set<std::string> labels;
  for (size_t i = 0; i < methods.size(); ++i) {
    const std::string where = "methods[" + std::to_string(i) + "]";
    s.methods.push_back(read_method(r, methods[i], where));
    if (!labels.insert(s.methods.back().label).second) {
      r.fail(where, "the label '" + s.methods.back().label + "' is taken by an earlier method");
    }
  }
  const YAML::Node cells = root["cells"];
  if (cells && !cells.IsNull()) {
    if (!cells.IsSequence()) r.fail("cells", "expected a list of cell rules");
    for (size_t i = 0; i < cells.size(); ++i) {
      s.rules.push_back(read_rule(r, cells[i], "cells[" + std::to_string(i) + "]"));
      const auto& when = s.rules.back().when;
      if (when.count("method")) {
        for (const auto& label : when.at("method")) {
          if (!labels.count(label)) {
            r.fail("cells[" + std::to_string(i) + "].when.method",
                   "no method is labelled '" + label + "'");
          }
        }
      }
    }
  }
  return s;
}

std::string study_path(const std::string& config) {
  if (config.find('/') != std::string::npos || core::file_exists(config)) return config;
  const char* dir = std::getenv("VLPROMPT_STUDY_DIR");
  const std::string base = dir ? dir : VLPROMPT_STUDY_DIR_DEFAULT;
  const std::string stem = config.size() > 5 && config.substr(config.size() - 5) == ".yaml"
                               ? config.substr(0, config.size() - 5)
                               : config;
  const std::string path = base + "/" + stem + ".yaml";
  if (!core::file_exists(path)) {
    throw FileError(config, "no such study file, and no " + path +
                                " (the shipped studies are in prompts/studies/)");
  }
  return path;
}

}  // namespace vlprompt::study
