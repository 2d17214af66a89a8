#include "src/core/config.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <numeric>

#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::core {
namespace {

// Keys from a file are reported as FileError (the path first, as everywhere); the two sources
// that are not files get a plain Error with the same "<where>: <what>" shape.
[[noreturn]] void fail(const std::string& where, const std::string& message) {
  if (where == kDefaultsSource || where == kCommandLineSource) throw Error(where + ": " + message);
  throw FileError(where, message);
}

std::string flow_text(const YAML::Node& node) {
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

// YAML aliases make graphs, not trees: `train: &a {x: *a}` refers to itself and `[*a, *a, ...]`
// chains multiply. Every layer is walked once before merging, with its depth and its size
// bounded (configs are a few levels deep and a few hundred keys), and a key repeated in one map
// (which YAML forbids and yaml-cpp keeps twice) is refused.
constexpr int kMaxConfigDepth = 32;
constexpr size_t kMaxConfigNodes = 1 << 20;

void check_tree(const YAML::Node& node, const std::string& source, const std::string& key,
                int depth, size_t& nodes) {
  if (++nodes > kMaxConfigNodes) {
    fail(source, "more than " + std::to_string(kMaxConfigNodes) +
                     " values (YAML aliases repeating each other?)");
  }
  if (depth > kMaxConfigDepth) {
    fail(source, "key '" + key.substr(0, 200) + "' nests deeper than " +
                     std::to_string(kMaxConfigDepth) +
                     " levels (a YAML alias that refers to itself?)");
  }
  if (node.IsMap()) {
    std::vector<std::string> seen;
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) {
        fail(source, "a key under '" + key + "' is not a plain name; expected name: value");
      }
      const std::string name = entry.first.Scalar();
      const std::string dotted = config_detail::join_key(key, name);
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
        fail(source, "key '" + dotted + "' is given twice; expected each key once");
      }
      seen.push_back(name);
      check_tree(entry.second, source, dotted, depth + 1, nodes);
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) check_tree(item, source, key + "[]", depth + 1, nodes);
  }
}

void check_tree(const YAML::Node& node, const std::string& source, const std::string& key = "") {
  size_t nodes = 0;
  check_tree(node, source, key, 0, nodes);
}

// `train:` with nothing under it (all commented out) leaves the section as it is; an explicit
// `train: null` or `train: ~` is a value, and a section cannot hold one.
void check_explicit_null_sections(const YAML::Node& node, const std::string& text,
                                  const std::string& path) {
  for (const auto& entry : node) {
    if (!entry.second.IsNull()) continue;
    const YAML::Mark mark = entry.second.Mark();
    if (mark.pos < 0 || static_cast<size_t>(mark.pos) >= text.size()) continue;
    const std::string at = text.substr(static_cast<size_t>(mark.pos), 4);
    if (at[0] == '~' || at == "null" || at == "Null" || at == "NULL") {
      fail(path, "key '" + entry.first.Scalar() + "' (line " + std::to_string(mark.line + 1) +
                     ") is null; expected a section (a map of keys), or nothing after the colon");
    }
  }
}

YAML::Node load_layer(const std::string& path) {
  const std::string text = read_file(path);
  YAML::Node node;
  try {
    node = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw FileError(path, "invalid YAML at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (node.IsNull()) return YAML::Node(YAML::NodeType::Map);  // an empty file is no change
  if (!node.IsMap()) throw FileError(path, "expected a map of sections at the top level");
  check_tree(node, path);
  check_explicit_null_sections(node, text, path);
  return node;
}

std::vector<std::string> split_key(const std::string& key) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

// "a.b=1" -> {a: {b: 1}}. The value is YAML, so lists ("[1, 2]") and quoted strings work.
YAML::Node parse_override(const std::string& text) {
  const size_t eq = text.find('=');
  const std::string where = std::string("override '") + text + "'";
  if (eq == std::string::npos) fail(kCommandLineSource, where + " is not key=value");
  const std::string key = text.substr(0, eq);
  for (const std::string& part : split_key(key)) {
    if (part.empty()) fail(kCommandLineSource, where + ": key '" + key + "' has an empty part");
  }
  const std::string value_text = text.substr(eq + 1);
  YAML::Node value;
  try {
    value = value_text.empty() ? YAML::Node(std::string()) : YAML::Load(value_text);
  } catch (const YAML::ParserException& e) {
    fail(kCommandLineSource, where + ": the value is not valid YAML (" + e.msg + ")");
  }
  check_tree(value, kCommandLineSource, key);
  YAML::Node layer(YAML::NodeType::Map);
  config_detail::set_section(layer, key, value);
  return layer;
}

void erase_origins_under(std::map<std::string, std::string>& origin, const std::string& key) {
  origin.erase(key);
  const std::string prefix = key + ".";
  auto it = origin.lower_bound(prefix);
  while (it != origin.end() && it->first.compare(0, prefix.size(), prefix) == 0) {
    it = origin.erase(it);
  }
}

// Maps merge key by key; anything else replaces what was there and records `source`.
void merge_layer(YAML::Node dst, const YAML::Node& src, const std::string& prefix,
                 const std::string& source, std::map<std::string, std::string>& origin) {
  for (const auto& entry : src) {
    const std::string key = entry.first.as<std::string>();
    const std::string dotted = config_detail::join_key(prefix, key);
    const YAML::Node& value = entry.second;
    const YAML::Node& lookup = dst;  // const lookup: never inserts the key
    const YAML::Node existing = lookup[key];
    if (value.IsNull() && existing.IsDefined() && existing.IsMap()) continue;
    if (value.IsMap()) {
      if (!existing.IsDefined() || !existing.IsMap()) {
        erase_origins_under(origin, dotted);
        dst[key] = YAML::Node(YAML::NodeType::Map);
      }
      // An empty section has no leaf to carry its layer; an error about it must still name it.
      if (value.size() == 0 && !origin.count(dotted)) origin[dotted] = source;
      merge_layer(dst[key], value, dotted, source, origin);
      continue;
    }
    if (existing.IsDefined() && existing.IsMap() && !value.IsNull()) {
      fail(source, "key '" + dotted + "' must be a section (a map of keys), got " +
                       flow_text(value).substr(0, 200));
    }
    erase_origins_under(origin, dotted);
    dst[key] = YAML::Clone(value);
    origin[dotted] = source;
  }
}

std::vector<std::string> top_level_keys(const YAML::Node& node) {
  std::vector<std::string> keys;
  for (const auto& entry : node) keys.push_back(entry.first.as<std::string>());
  return keys;
}

std::string unknown_key_message(const std::string& key, const std::string& section,
                                const std::vector<std::string>& known) {
  std::string message = "unknown key '" + key + "'";
  const std::string nearest =
      closest_key(key.substr(section.empty() ? 0 : section.size() + 1), known);
  if (!nearest.empty())
    message += " (did you mean '" + config_detail::join_key(section, nearest) + "'?)";
  return message;
}

}  // namespace

std::string ResolvedConfig::origin_of(const std::string& key) const {
  if (auto it = origin.find(key); it != origin.end()) return it->second;
  auto it = origin.lower_bound(key + ".");
  if (it != origin.end() && it->first.compare(0, key.size() + 1, key + ".") == 0) return it->second;
  return kDefaultsSource;
}

ResolvedConfig resolve_config(const ConfigSources& sources) {
  ResolvedConfig out;
  out.tree = YAML::Node(YAML::NodeType::Map);
  if (sources.defaults.IsDefined() && !sources.defaults.IsNull()) {
    if (!sources.defaults.IsMap()) throw Error("built-in defaults: expected a map of sections");
    merge_layer(out.tree, sources.defaults, "", kDefaultsSource, out.origin);
  }
  // The precedence, lowest first. Nothing else in vlprompt orders layers.
  std::vector<std::string> layers{sources.dataset_yaml};
  layers.insert(layers.end(), sources.method_yamls.begin(), sources.method_yamls.end());
  layers.push_back(sources.config_file);
  for (const std::string& path : layers) {
    if (!path.empty()) merge_layer(out.tree, load_layer(path), "", path, out.origin);
  }
  for (const std::string& text : sources.overrides) {
    merge_layer(out.tree, parse_override(text), "", kCommandLineSource, out.origin);
  }
  return out;
}

ResolvedConfig config_from_node(const YAML::Node& tree, const std::string& source) {
  if (!tree.IsDefined() || tree.IsNull())
    return config_from_node(YAML::Node(YAML::NodeType::Map), source);
  if (!tree.IsMap()) fail(source, "expected a map of keys at the top level");
  check_tree(tree, source);
  ResolvedConfig out;
  out.tree = YAML::Node(YAML::NodeType::Map);
  merge_layer(out.tree, tree, "", source, out.origin);
  return out;
}

ResolvedConfig config_from_strings(const std::map<std::string, std::string>& values,
                                   const std::string& source) {
  YAML::Node tree(YAML::NodeType::Map);
  for (const auto& [key, value] : values) {
    for (const std::string& part : split_key(key)) {
      if (part.empty()) fail(source, "key '" + key + "' has an empty part");
    }
    config_detail::set_section(tree, key, YAML::Node(value));
  }
  return config_from_node(tree, source);
}

void fail_key(const ResolvedConfig& config, const std::string& key, const std::string& message) {
  fail(config.origin_of(key), "key '" + key + "' " + message);
}

std::string dump_config(const ResolvedConfig& config) {
  YAML::Emitter out;
  out << config.tree;
  return "# Fully resolved: built-in defaults < dataset < method < --config < command line\n" +
         std::string(out.c_str()) + "\n";
}

void check_sections(const ResolvedConfig& config, const std::vector<std::string>& sections) {
  for (const std::string& key : top_level_keys(config.tree)) {
    if (std::find(sections.begin(), sections.end(), key) == sections.end()) {
      fail(config.origin_of(key), unknown_key_message(key, "", sections));
    }
  }
}

void check_choice(const ResolvedConfig& config, const std::string& key, const std::string& value,
                  const std::vector<std::string>& choices) {
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return;
  std::string list;
  for (const std::string& c : choices) list += (list.empty() ? "" : ", ") + c;
  fail(config.origin_of(key), "key '" + key + "' = '" + value + "' must be one of " + list +
                                  " (did you mean '" + closest_key(value, choices) + "'?)");
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
    }
  }
  return row[b.size()];
}

std::string closest_key(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::string::npos;
  for (const std::string& candidate : candidates) {
    const size_t d = edit_distance(key, candidate);
    if (d < best_distance) {  // strict: the first listed candidate wins a tie
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

namespace config_detail {

std::string join_key(const std::string& section, const std::string& key) {
  return section.empty() ? key : section + "." + key;
}

YAML::Node section_node(const ResolvedConfig& config, const std::string& section) {
  YAML::Node node = config.tree;
  if (section.empty()) return node;
  std::string walked;
  for (const std::string& part : split_key(section)) {
    walked = join_key(walked, part);
    const YAML::Node& lookup = node;
    const YAML::Node child = lookup[part];
    if (!child.IsDefined() || child.IsNull()) return YAML::Node();  // absent: defaults stay
    node.reset(child);  // rebind; operator= would overwrite the tree's content
    if (!node.IsMap()) {
      fail(config.origin_of(walked),
           "key '" + walked + "' must be a section (a map of keys), got " + flow_text(node));
    }
  }
  return node;
}

void check_known(const ResolvedConfig& config, const YAML::Node& node, const std::string& section,
                 const std::vector<std::string>& known) {
  if (!node.IsDefined() || !node.IsMap()) return;
  for (const std::string& key : top_level_keys(node)) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    const std::string full = join_key(section, key);
    fail(config.origin_of(full), unknown_key_message(full, section, known));
  }
}

void bad_value(const ResolvedConfig& config, const std::string& key, const YAML::Node& node,
               const char* expected) {
  const std::string got = node.IsNull() ? "no value" : "'" + flow_text(node) + "'";
  fail(config.origin_of(key), "key '" + key + "' has " + got + "; expected " + expected);
}

YAML::Node encode(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return YAML::Node(std::string(buffer, result.ptr));
}

YAML::Node encode(const std::vector<double>& values) {
  YAML::Node node(YAML::NodeType::Sequence);
  for (double v : values) node.push_back(encode(v));
  return node;
}

void set_section(YAML::Node& tree, const std::string& section, const YAML::Node& value) {
  const std::vector<std::string> parts = split_key(section);
  // A default-constructed Node has no storage yet: copies of it would not share what is added.
  if (!tree.IsMap()) tree = YAML::Node(YAML::NodeType::Map);
  YAML::Node node = tree;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const YAML::Node& lookup = node;
    if (!lookup[parts[i]].IsDefined() || !lookup[parts[i]].IsMap()) {
      node[parts[i]] = YAML::Node(YAML::NodeType::Map);
    }
    node.reset(node[parts[i]]);  // rebind; operator= would overwrite the tree's content
  }
  node[parts.back()] = value;
}

}  // namespace config_detail

YAML::Node yaml_from_json(const nlohmann::json& value) {
  if (value.is_object()) {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& [key, item] : value.items()) out[key] = yaml_from_json(item);
    return out;
  }
  if (value.is_array()) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& item : value) out.push_back(yaml_from_json(item));
    return out;
  }
  if (value.is_null()) return YAML::Node(YAML::NodeType::Null);
  if (value.is_string()) return YAML::Node(value.get<std::string>());
  return YAML::Node(value.dump());  // numbers and booleans: JSON and YAML spell them alike
}

}  // namespace vlprompt::core
