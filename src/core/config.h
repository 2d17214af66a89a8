// Run configuration: YAML layers merged with one fixed precedence, then read into typed structs.
//
//   built-in defaults < dataset YAML < method YAML < --config file < key=value overrides
//
// resolve_config() is the only place that order is decided. The result remembers which layer set
// every leaf, so a typo is reported against the file (or "command line") that holds it, with the
// nearest valid key. A typed struct lists its keys once, in a visit() method:
//
//   struct OptimConfig {
//     double lr = 0.002;
//     template <class V> void visit(V& v) { v("lr", lr, "base learning rate"); }
//   };
//   add_defaults<OptimConfig>(defaults, "optim");           // built-in layer
//   auto optim = read_config<OptimConfig>(resolved, "optim");  // unknown keys are errors
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace vlprompt::core {

// Names used as the "file" of keys that come from no file.
inline constexpr char kDefaultsSource[] = "built-in defaults";
inline constexpr char kCommandLineSource[] = "command line";

struct ConfigSources {
  YAML::Node defaults;                    // a map; build it with add_defaults<T>()
  std::string dataset_yaml;               // paths; "" = layer absent
  std::vector<std::string> method_yamls;  // one per method (a stack "coop+vpt" has two), in order
  std::string config_file;                // --config
  std::vector<std::string> overrides;     // "optim.lr=0.01": dotted key, YAML value
};

struct ResolvedConfig {
  YAML::Node tree;                            // always a map
  std::map<std::string, std::string> origin;  // dotted leaf key -> layer that set it last

  // The layer that set `key`, or the layer of the first leaf below it when `key` is a section.
  std::string origin_of(const std::string& key) const;
  // Whether some layer set the leaf `key` (dotted).
  bool has(const std::string& key) const { return origin.count(key) > 0; }
};

// Merges the layers in precedence order. Maps merge key by key; scalars and sequences replace.
// A key with no value (`optim:` with everything commented out) leaves an existing section as is.
// Throws FileError naming the file for unreadable or malformed YAML, Error naming the override
// for a malformed key=value.
ResolvedConfig resolve_config(const ConfigSources& sources);

// A single source read as a config: every leaf is attributed to `source` (a file path, or a
// name like "delta file x.safetensors"), so model configs, delta-file hyper-parameters and run
// configs all go through read_config<T> and report errors the same way.
ResolvedConfig config_from_node(const YAML::Node& tree, const std::string& source);
// Dotted keys nest ("coop.n_ctx" -> coop: {n_ctx: ...}); every value is a YAML scalar string,
// which read_config converts to the field's type.
ResolvedConfig config_from_strings(const std::map<std::string, std::string>& values,
                                   const std::string& source);

// An Error (FileError for a file) "<layer of key>: key '<key>' <message>", for checks beyond the
// type (ranges, relations between keys) made after read_config.
[[noreturn]] void fail_key(const ResolvedConfig& config, const std::string& key,
                           const std::string& message);

// The fully resolved config as YAML text (what a run folder's config.yaml holds). Reading it
// back as a --config file reproduces the same values.
std::string dump_config(const ResolvedConfig& config);

// Top-level keys must be one of `sections`; otherwise Error naming the layer, the key and the
// nearest section.
void check_sections(const ResolvedConfig& config, const std::vector<std::string>& sections);

// For string keys that name one of a fixed set: Error naming the layer, the key, the value, the
// choices and the nearest one.
void check_choice(const ResolvedConfig& config, const std::string& key, const std::string& value,
                  const std::vector<std::string>& choices);

// Levenshtein distance, and the candidate nearest to `key` ("" when there are none).
size_t edit_distance(const std::string& a, const std::string& b);
std::string closest_key(const std::string& key, const std::vector<std::string>& candidates);

// One field of a typed config, for `--help`-style listings.
struct ConfigField {
  std::string key;
  std::string default_value;  // as YAML text
  std::string help;
  std::string type;  // "an integer", "a number", "true or false", "a string", "a list"
};

namespace config_detail {

// The map at dotted `section` ("" = root); an undefined node when absent; Error when the key
// holds a value instead of a section.
YAML::Node section_node(const ResolvedConfig& config, const std::string& section);
std::string join_key(const std::string& section, const std::string& key);
// Error "<origin>: unknown key 'a.b' (did you mean 'a.c'?)" for keys of `node` not in `known`.
void check_known(const ResolvedConfig& config, const YAML::Node& node, const std::string& section,
                 const std::vector<std::string>& known);
[[noreturn]] void bad_value(const ResolvedConfig& config, const std::string& key,
                            const YAML::Node& node, const char* expected);

// Scalars are stored as text: doubles in the shortest form that reads back exactly.
YAML::Node encode(double value);
YAML::Node encode(const std::vector<double>& values);
template <class T>
YAML::Node encode(const T& value) {
  return YAML::Node(value);
}

template <class T>
const char* type_name() {
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  if constexpr (std::is_integral_v<T>) return "an integer";
  if constexpr (std::is_floating_point_v<T>) return "a number";
  if constexpr (std::is_same_v<T, std::string>) return "a string";
  return "a list";
}

class FieldReader {
 public:
  FieldReader(const ResolvedConfig& config, const std::string& section, YAML::Node node)
      : config_(config), section_(section), node_(std::move(node)) {}

  template <class T>
  void operator()(const char* key, T& field, const char* /*help*/) {
    known_.push_back(key);
    if (!node_.IsDefined() || !node_.IsMap()) return;
    const YAML::Node& map = node_;  // const lookup: never inserts the key
    const YAML::Node value = map[key];
    if (!value.IsDefined()) return;
    const std::string full = join_key(section_, key);
    if (value.IsNull() || value.IsMap()) bad_value(config_, full, value, type_name<T>());
    try {
      field = value.as<T>();
    } catch (const YAML::Exception&) {
      bad_value(config_, full, value, type_name<T>());
    }
  }
  void finish() const { check_known(config_, node_, section_, known_); }

 private:
  const ResolvedConfig& config_;
  std::string section_;
  YAML::Node node_;
  std::vector<std::string> known_;
};

class FieldWriter {
 public:
  template <class T>
  void operator()(const char* key, T& field, const char* help) {
    node[key] = encode(field);
    fields.push_back({key, YAML::Dump(node[key]), help, type_name<T>()});
  }
  YAML::Node node{YAML::NodeType::Map};
  std::vector<ConfigField> fields;
};

// Adds `value` at dotted `section` of `tree`, creating sections on the way.
void set_section(YAML::Node& tree, const std::string& section, const YAML::Node& value);

}  // namespace config_detail

// Reads `section` into a T (starting from T's own defaults); any key T does not list is an
// Error naming its layer, the key and the nearest valid key; a value of the wrong type is an
// Error naming its layer, the key, the value and the expected type.
template <class T>
T read_config(const ResolvedConfig& config, const std::string& section) {
  T out;
  config_detail::FieldReader reader(config, section, config_detail::section_node(config, section));
  out.visit(reader);
  reader.finish();
  return out;
}

// Writes T's defaults under `section` of a defaults tree (the built-in layer).
template <class T>
void add_defaults(YAML::Node& defaults, const std::string& section) {
  T value;
  config_detail::FieldWriter writer;
  value.visit(writer);
  config_detail::set_section(defaults, section, writer.node);
}

// T's keys with their defaults and help, in declaration order.
template <class T>
std::vector<ConfigField> describe_config() {
  T value;
  config_detail::FieldWriter writer;
  value.visit(writer);
  return writer.fields;
}

// T's keys with their values as the strings a delta file's metadata holds them in, in key order:
// doubles in the shortest form that reads back exactly (so a value read back through
// read_config is the same double), bools as true/false. The one writer of a method's
// hyper-parameters: a key T visits cannot be left out of the file.
template <class T>
std::map<std::string, std::string> to_strings(T value) {
  config_detail::FieldWriter writer;
  value.visit(writer);
  std::map<std::string, std::string> out;
  for (const auto& entry : writer.node) {
    YAML::Emitter flow;  // a list keeps its YAML text ("[0.5, 1]")
    if (!entry.second.IsScalar()) flow << YAML::Flow << entry.second;
    out[entry.first.as<std::string>()] =
        entry.second.IsScalar() ? entry.second.as<std::string>() : std::string(flow.c_str());
  }
  return out;
}

// One key of `section` read as T (left as it is when absent) without the section's unknown-key
// check: for a key that decides which struct reads the rest, like a vision tower's `type`.
template <class T>
void read_key(const ResolvedConfig& config, const std::string& section, const char* key, T& value) {
  config_detail::FieldReader reader(config, section, config_detail::section_node(config, section));
  reader(key, value, "");
}

// A JSON document as YAML, so JSON configs (a Hugging Face config.json) go through
// config_from_node and read_config too. Numbers keep their JSON text (1e-05 stays exact);
// null stays null.
YAML::Node yaml_from_json(const nlohmann::json& value);

}  // namespace vlprompt::core
