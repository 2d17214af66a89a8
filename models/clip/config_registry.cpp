// models/configs/*.yaml -> ClipConfig, read strictly: a misspelt key is an error that names the
// file, the key and the closest valid key, never a silently ignored line.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <type_traits>
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

// Every key of a model file is required except vision.heads. Integers default to 0 and strings
// to "" only so that an absent key is never mistaken for a value: CheckKeys reports it missing.
struct VisionKeys {
  std::string type;
  int64_t image_resolution = 0;
  int64_t width = 0;
  int64_t layers = 0;
  std::vector<int64_t> stage_depths;
  int64_t patch_size = 0;
  int64_t heads = 0;

  // `type` is read first, so the keys that follow are those of its tower.
  template <class V>
  void visit(V& v) {
    v("type", type, "vit | modified_resnet");
    v("image_resolution", image_resolution, "input image side in pixels");
    v("width", width, "ViT width, or the ResNet stem width");
    if (type == "modified_resnet") {
      v("layers", stage_depths, "blocks per stage, e.g. [3, 4, 6, 3]");
    } else {
      v("layers", layers, "transformer layers");
      v("patch_size", patch_size, "patch side in pixels");
    }
    v("heads", heads, "attention heads (default: OpenAI's 64-wide heads)");
  }
};

struct TextKeys {
  int64_t context_length = 0;
  int64_t vocab_size = 0;
  int64_t width = 0;
  int64_t heads = 0;
  int64_t layers = 0;

  template <class V>
  void visit(V& v) {
    v("context_length", context_length, "tokens per prompt");
    v("vocab_size", vocab_size, "BPE vocabulary size");
    v("width", width, "transformer width");
    v("heads", heads, "attention heads");
    v("layers", layers, "transformer layers");
  }
};

// config_from_node attributes every leaf to the file, so a key the file lacks has no origin.
bool in_file(const core::ResolvedConfig& config, const std::string& key) {
  return config.origin_of(key) != core::kDefaultsSource;
}

// FileError rather than core::fail_key: an absent or derived key (vision.heads) has no origin,
// and the error must still name the file.
[[noreturn]] void fail(const std::string& path, const std::string& key,
                       const std::string& message) {
  throw FileError(path, "key '" + key + "' " + message);
}

void require(const core::ResolvedConfig& config, const std::string& path, const std::string& key) {
  if (!in_file(config, key)) throw FileError(path, "missing key '" + key + "'");
}

void require_positive(const std::string& path, const std::string& key, int64_t value) {
  if (value <= 0)
    fail(path, key, "has '" + std::to_string(value) + "'; expected a positive integer");
}

// Run over a struct read by read_config: every key present (but `optional`), every integer > 0.
struct CheckKeys {
  const core::ResolvedConfig& config;
  std::string path;
  std::string section;
  std::string optional;

  template <class T>
  void operator()(const char* key, const T& value, const char* /*help*/) const {
    const std::string full = section + "." + key;
    if (key == optional && !in_file(config, full)) return;
    require(config, path, full);
    if constexpr (std::is_same_v<T, int64_t>) {
      require_positive(path, full, value);
    } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
      for (int64_t depth : value) {
        if (depth <= 0)
          fail(path, full,
               "has a depth of " + std::to_string(depth) + "; expected positive stage depths");
      }
    }
  }
};

VisionConfig read_vision(const core::ResolvedConfig& config, const std::string& path) {
  std::string type;
  core::read_key(config, "vision", "type", type);
  require(config, path, "vision.type");
  core::check_choice(config, "vision.type", type, {"vit", "modified_resnet"});
  if (type == "modified_resnet") {
    // Before the typed read, whose error would say only "expected a list".
    const YAML::Node& tree = config.tree;
    const YAML::Node depths = tree["vision"]["layers"];
    if (depths.IsDefined() && (!depths.IsSequence() || depths.size() != 4)) {
      fail(path, "vision.layers",
           "must be a list of 4 stage depths for a modified_resnet, e.g. [3, 4, 6, 3]");
    }
  }
  VisionKeys keys = core::read_config<VisionKeys>(config, "vision");
  CheckKeys check{config, path, "vision", "heads"};
  keys.visit(check);

  VisionConfig v;
  v.type = keys.type;
  v.image_resolution = keys.image_resolution;
  v.width = keys.width;
  v.layers = keys.layers;  // 0 for a modified_resnet, whose depths are resnet_layers
  v.resnet_layers = keys.stage_depths;
  v.patch_size = keys.patch_size;
  // OpenAI's rule (build_model): 64-wide heads; the ResNet's attention pool is width * 32 wide.
  const int64_t pooled_width = v.type == "vit" ? v.width : v.width * 32;
  v.heads = keys.heads > 0 ? keys.heads : std::max<int64_t>(1, pooled_width / 64);
  if (pooled_width % v.heads != 0) {
    fail(path, "vision.heads",
         "= " + std::to_string(v.heads) + " does not divide the attention width " +
             std::to_string(pooled_width));
  }
  if (v.type == "vit" && v.image_resolution % v.patch_size != 0) {
    fail(path, "vision.patch_size",
         "= " + std::to_string(v.patch_size) + " does not divide image_resolution " +
             std::to_string(v.image_resolution));
  }
  if (v.type == "modified_resnet" && v.image_resolution % 32 != 0) {
    fail(path, "vision.image_resolution",
         "= " + std::to_string(v.image_resolution) + "; a modified_resnet needs a multiple of 32");
  }
  return v;
}

TextConfig read_text(const core::ResolvedConfig& config, const std::string& path) {
  TextKeys keys = core::read_config<TextKeys>(config, "text");
  CheckKeys check{config, path, "text", ""};
  keys.visit(check);
  TextConfig t;
  t.context_length = keys.context_length;
  t.vocab_size = keys.vocab_size;
  t.width = keys.width;
  t.heads = keys.heads;
  t.layers = keys.layers;
  if (t.width % t.heads != 0) {
    fail(path, "text.heads",
         "= " + std::to_string(t.heads) + " does not divide text.width " + std::to_string(t.width));
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
  const core::ResolvedConfig file = core::config_from_node(root, path);
  core::check_sections(file, {"embed_dim", "vision", "text"});
  ClipConfig config;
  config.name = fs::path(path).stem().string();
  core::read_key(file, "", "embed_dim", config.embed_dim);
  require(file, path, "embed_dim");
  require_positive(path, "embed_dim", config.embed_dim);
  require(file, path, "vision");
  require(file, path, "text");
  config.vision = read_vision(file, path);
  config.text = read_text(file, path);
  return config;
}

}  // namespace vlprompt::models
