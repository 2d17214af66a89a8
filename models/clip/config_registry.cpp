// models/configs/*.yaml -> ClipConfig, read strictly: a misspelt key is an error that names the
// file, the key and the closest valid key, never a silently ignored line.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "models/clip/load_clip.h"
#include "src/core/config.h"
#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::models {
namespace {

namespace fs = std::filesystem;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// One YAML mapping and the file it came from; every read names both on failure.
class Section {
 public:
  Section(const YAML::Node& node, std::string path, std::string prefix)
      : node_(node), path_(std::move(path)), prefix_(std::move(prefix)) {
    if (!node.IsMap()) {
      const std::string where =
          prefix_.empty() ? "the top level" : "'" + prefix_.substr(0, prefix_.size() - 1) + "'";
      throw FileError(path_, where + " must be a mapping of keys to values");
    }
  }

  void allow_only(const std::vector<std::string>& keys) const {
    for (const auto& entry : node_) {
      const std::string key = entry.first.as<std::string>();
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        throw FileError(path_, "unknown key '" + prefix_ + key + "' (did you mean '" + prefix_ +
                                   core::closest_key(key, keys) +
                                   "'? valid keys here: " + join(keys) + ")");
      }
    }
  }

  bool has(const std::string& key) const { return static_cast<bool>(node_[key]); }

  YAML::Node required(const std::string& key) const {
    if (!node_[key]) throw FileError(path_, "missing key '" + prefix_ + key + "'");
    return node_[key];
  }

  int64_t positive_int(const std::string& key) const { return positive(required(key), key); }

  int64_t positive(const YAML::Node& value, const std::string& key) const {
    int64_t v = 0;
    if (!value.IsScalar() || !YAML::convert<int64_t>::decode(value, v) || v <= 0) {
      throw FileError(path_, "key '" + prefix_ + key + "': expected a positive integer, got '" +
                                 YAML::Dump(value) + "'");
    }
    return v;
  }

  std::string string(const std::string& key) const {
    const YAML::Node value = required(key);
    if (!value.IsScalar()) {
      throw FileError(path_, "key '" + prefix_ + key + "': expected a string");
    }
    return value.as<std::string>();
  }

  const std::string& path() const { return path_; }

 private:
  YAML::Node node_;
  std::string path_;
  std::string prefix_;
};

VisionConfig parse_vision(const Section& s) {
  VisionConfig v;
  v.type = s.string("type");
  if (v.type == "vit") {
    s.allow_only({"type", "image_resolution", "width", "layers", "patch_size", "heads"});
    v.layers = s.positive_int("layers");
    v.patch_size = s.positive_int("patch_size");
  } else if (v.type == "modified_resnet") {
    s.allow_only({"type", "image_resolution", "width", "layers", "heads"});
    const YAML::Node layers = s.required("layers");
    if (!layers.IsSequence() || layers.size() != 4) {
      throw FileError(s.path(),
                      "key 'vision.layers': a modified_resnet needs a list of 4 stage "
                      "depths, e.g. [3, 4, 6, 3]");
    }
    for (const auto& depth : layers) v.resnet_layers.push_back(s.positive(depth, "layers"));
    v.layers = 0;
    v.patch_size = 0;
  } else {
    throw FileError(s.path(),
                    "key 'vision.type': '" + v.type + "' is not one of: vit, modified_resnet");
  }
  v.image_resolution = s.positive_int("image_resolution");
  v.width = s.positive_int("width");
  // OpenAI's rule (build_model): 64-wide heads; the ResNet's attention pool is width * 32 wide.
  const int64_t pooled_width = v.type == "vit" ? v.width : v.width * 32;
  v.heads = s.has("heads") ? s.positive_int("heads") : std::max<int64_t>(1, pooled_width / 64);
  if (pooled_width % v.heads != 0) {
    throw FileError(s.path(), "key 'vision.heads': " + std::to_string(v.heads) +
                                  " does not divide the attention width " +
                                  std::to_string(pooled_width));
  }
  if (v.type == "vit" && v.image_resolution % v.patch_size != 0) {
    throw FileError(s.path(), "key 'vision.patch_size': " + std::to_string(v.patch_size) +
                                  " does not divide image_resolution " +
                                  std::to_string(v.image_resolution));
  }
  if (v.type == "modified_resnet" && v.image_resolution % 32 != 0) {
    throw FileError(s.path(),
                    "key 'vision.image_resolution': a modified_resnet needs a multiple "
                    "of 32, got " +
                        std::to_string(v.image_resolution));
  }
  return v;
}

TextConfig parse_text(const Section& s) {
  s.allow_only({"context_length", "vocab_size", "width", "heads", "layers"});
  TextConfig t;
  t.context_length = s.positive_int("context_length");
  t.vocab_size = s.positive_int("vocab_size");
  t.width = s.positive_int("width");
  t.heads = s.positive_int("heads");
  t.layers = s.positive_int("layers");
  if (t.width % t.heads != 0) {
    throw FileError(s.path(), "key 'text.heads': " + std::to_string(t.heads) +
                                  " does not divide text.width " + std::to_string(t.width));
  }
  return t;
}

bool is_yaml_path(const std::string& s) {
  const std::string ext = fs::path(s).extension().string();
  return ext == ".yaml" || ext == ".yml";
}

}  // namespace

std::string config_dir() {
  if (const char* env = std::getenv("VLPROMPT_CONFIG_DIR"); env && *env) return env;
  return VLPROMPT_SOURCE_DIR "/models/configs";
}

std::vector<std::string> list_configs() {
  return core::list_stems(config_dir(), ".yaml", "model config", "set VLPROMPT_CONFIG_DIR");
}

ClipConfig load_config(const std::string& name_or_path) {
  std::string path = name_or_path;
  if (!is_yaml_path(name_or_path) && name_or_path.find('/') == std::string::npos) {
    const std::vector<std::string> names = list_configs();
    if (std::find(names.begin(), names.end(), name_or_path) == names.end()) {
      throw Error("unknown model config '" + name_or_path + "' (did you mean '" +
                  core::closest_key(name_or_path, names) + "'? configs in " + config_dir() + ": " +
                  join(names) + ")");
    }
    path = config_dir() + "/" + name_or_path + ".yaml";
  }
  if (!fs::is_regular_file(path)) throw FileError(path, "no such model config file");
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw FileError(path, std::string("not valid YAML: ") + e.what());
  }
  const Section top(root, path, "");
  top.allow_only({"embed_dim", "vision", "text"});
  ClipConfig config;
  config.name = fs::path(path).stem().string();
  config.embed_dim = top.positive_int("embed_dim");
  config.vision = parse_vision(Section(top.required("vision"), path, "vision."));
  config.text = parse_text(Section(top.required("text"), path, "text."));
  return config;
}

}  // namespace vlprompt::models
