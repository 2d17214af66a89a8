#include "models/weights/hf_config.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

#include "src/core/config.h"
#include "src/core/error.h"

namespace vlprompt::models::weights {
namespace {

using json = nlohmann::json;

// transformers' CLIPTextConfig / CLIPVisionConfig / CLIPConfig defaults, used for keys a
// config.json omits (or sets to null, which transformers also reads as "the default").
// The keys both towers' configs have; each tower sets its own defaults.
struct HfTowerKeys {
  int64_t hidden_size, intermediate_size, num_attention_heads, num_hidden_layers;
  std::string hidden_act = "quick_gelu";
  double layer_norm_eps = 1e-5;

  template <class V>
  void visit_tower(V& v) {
    v("hidden_size", hidden_size, "transformer width");
    v("intermediate_size", intermediate_size, "MLP width (4 x hidden_size in CLIP)");
    v("num_attention_heads", num_attention_heads, "attention heads");
    v("num_hidden_layers", num_hidden_layers, "transformer layers");
    v("hidden_act", hidden_act, "MLP activation (quick_gelu in CLIP)");
    v("layer_norm_eps", layer_norm_eps, "LayerNorm epsilon (1e-5 in CLIP)");
  }
};

struct HfTextConfig : HfTowerKeys {
  HfTextConfig() : HfTowerKeys{512, 2048, 8, 12} {}
  int64_t max_position_embeddings = 77;
  int64_t vocab_size = 49408;

  template <class V>
  void visit(V& v) {
    visit_tower(v);
    v("max_position_embeddings", max_position_embeddings, "context length");
    v("vocab_size", vocab_size, "BPE vocabulary size");
  }
};

struct HfVisionConfig : HfTowerKeys {
  HfVisionConfig() : HfTowerKeys{768, 3072, 12, 12} {}
  int64_t image_size = 224;
  int64_t patch_size = 32;
  int64_t num_channels = 3;

  template <class V>
  void visit(V& v) {
    visit_tower(v);
    v("image_size", image_size, "input image side in pixels");
    v("patch_size", patch_size, "patch side in pixels");
    v("num_channels", num_channels, "input channels (3: RGB)");
  }
};

struct HfModelConfig {
  std::string model_type = "clip";
  int64_t projection_dim = 512;

  template <class V>
  void visit(V& v) {
    v("model_type", model_type, "clip for a CLIPModel");
    v("projection_dim", projection_dim, "shared embedding width");
  }
};

// A config.json holds many keys the canonical model has no use for (dropout, token ids, dtype,
// architectures), so only the keys T lists are taken.
template <class T>
YAML::Node keys_of(const json& object) {
  YAML::Node out(YAML::NodeType::Map);
  for (const core::ConfigField& field : core::describe_config<T>()) {
    if (object.contains(field.key) && !object[field.key].is_null()) {
      out[field.key] = core::yaml_from_json(object[field.key]);
    }
  }
  return out;
}

// The tower's key in the file: `text_config`, or `text_config_dict` in configs saved by older
// transformers; when neither is an object every key is transformers' default.
std::string section_name(const json& root, const std::string& name) {
  for (const std::string& key : {name, name + "_dict"}) {
    if (root.contains(key) && root[key].is_object()) return key;
  }
  return name;
}

// Not core::fail_key: a check across keys can fail on a value the file leaves to transformers'
// default, which has no origin, and the error must still name the file.
[[noreturn]] void fail(const core::ResolvedConfig& config, const std::string& path,
                       const std::string& key, const std::string& message) {
  const bool in_file = config.origin.count(key) > 0;
  throw FileError(path, "key '" + key + "' " + message +
                            (in_file ? "" : " (the file leaves it to transformers' default)"));
}

// Every integer key is a size or a count.
struct CheckPositive {
  const core::ResolvedConfig& config;
  std::string path;
  std::string section;

  template <class T>
  void operator()(const char* key, const T& value, const char* /*help*/) const {
    if constexpr (std::is_same_v<T, int64_t>) {
      if (value <= 0) {
        const std::string full = section.empty() ? key : section + "." + key;
        fail(config, path, full,
             "has '" + std::to_string(value) + "'; expected a positive integer");
      }
    }
  }
};

// Reads one tower with transformers' defaults; refuses what the canonical model (OpenAI's CLIP:
// QuickGELU MLPs of 4x width, LayerNorm eps 1e-5) cannot compute.
template <class T>
T read_tower(const core::ResolvedConfig& config, const std::string& path,
             const std::string& section) {
  T t = core::read_config<T>(config, section);
  CheckPositive check{config, path, section};
  t.visit(check);
  const std::string prefix = section + ".";
  if (t.hidden_act != "quick_gelu") {
    fail(config, path, prefix + "hidden_act",
         "is \"" + t.hidden_act +
             "\", expected \"quick_gelu\" (CLIP's QuickGELU is what the canonical model computes)");
  }
  if (t.intermediate_size != 4 * t.hidden_size) {
    fail(config, path, prefix + "intermediate_size",
         "is " + std::to_string(t.intermediate_size) + ", expected " +
             std::to_string(4 * t.hidden_size) + " (4 x hidden_size, as in CLIP)");
  }
  if (std::abs(t.layer_norm_eps - 1e-5) > 1e-12) {
    fail(config, path, prefix + "layer_norm_eps",
         "is " + json(t.layer_norm_eps).dump() + ", expected 1e-05 (CLIP's LayerNorm)");
  }
  return t;
}

}  // namespace

ClipConfig hf_config_from_json(const std::string& text, const std::string& path) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& e) {
    throw FileError(path, std::string("not valid JSON: ") + e.what());
  }
  if (!root.is_object()) throw FileError(path, "not a JSON object");
  const core::ResolvedConfig top = core::config_from_node(keys_of<HfModelConfig>(root), path);
  auto model = core::read_config<HfModelConfig>(top, "");
  if (model.model_type != "clip") {
    fail(top, path, "model_type",
         "is \"" + model.model_type + "\", expected \"clip\" (a Hugging Face CLIPModel folder)");
  }
  CheckPositive check{top, path, ""};
  model.visit(check);

  const std::string text_key = section_name(root, "text_config");
  const std::string vision_key = section_name(root, "vision_config");
  YAML::Node towers(YAML::NodeType::Map);
  towers[text_key] = keys_of<HfTextConfig>(root.value(text_key, json::object()));
  towers[vision_key] = keys_of<HfVisionConfig>(root.value(vision_key, json::object()));
  const core::ResolvedConfig config = core::config_from_node(towers, path);
  const auto t = read_tower<HfTextConfig>(config, path, text_key);
  const auto v = read_tower<HfVisionConfig>(config, path, vision_key);
  if (v.num_channels != 3) {
    fail(config, path, vision_key + ".num_channels",
         "is " + std::to_string(v.num_channels) + ", expected 3 (RGB)");
  }

  ClipConfig c;
  c.name = "hf";
  c.embed_dim = model.projection_dim;
  c.text.width = t.hidden_size;
  c.text.heads = t.num_attention_heads;
  c.text.layers = t.num_hidden_layers;
  c.text.context_length = t.max_position_embeddings;
  c.text.vocab_size = t.vocab_size;
  c.vision.type = "vit";
  c.vision.width = v.hidden_size;
  c.vision.heads = v.num_attention_heads;
  c.vision.layers = v.num_hidden_layers;
  c.vision.image_resolution = v.image_size;
  c.vision.patch_size = v.patch_size;
  return c;
}

std::string hf_config_to_json(const ClipConfig& c) {
  const json text = {{"model_type", "clip_text_model"},
                     {"hidden_size", c.text.width},
                     {"intermediate_size", 4 * c.text.width},
                     {"num_attention_heads", c.text.heads},
                     {"num_hidden_layers", c.text.layers},
                     {"max_position_embeddings", c.text.context_length},
                     {"vocab_size", c.text.vocab_size},
                     {"projection_dim", c.embed_dim},
                     {"hidden_act", "quick_gelu"},
                     {"layer_norm_eps", 1e-5},
                     // eos_token_id 2 selects HF's legacy pooling, argmax over token ids, which
                     // is OpenAI's rule for finding the end-of-text token.
                     {"bos_token_id", 0},
                     {"eos_token_id", 2},
                     {"pad_token_id", 1}};
  const json vision = {{"model_type", "clip_vision_model"},
                       {"hidden_size", c.vision.width},
                       {"intermediate_size", 4 * c.vision.width},
                       {"num_attention_heads", c.vision.heads},
                       {"num_hidden_layers", c.vision.layers},
                       {"image_size", c.vision.image_resolution},
                       {"patch_size", c.vision.patch_size},
                       {"num_channels", 3},
                       {"projection_dim", c.embed_dim},
                       {"hidden_act", "quick_gelu"},
                       {"layer_norm_eps", 1e-5}};
  const json root = {{"architectures", {"CLIPModel"}}, {"model_type", "clip"},
                     {"projection_dim", c.embed_dim},  {"logit_scale_init_value", 2.6592},
                     {"torch_dtype", "float32"},       {"text_config", text},
                     {"vision_config", vision}};
  return root.dump(2) + "\n";
}

}  // namespace vlprompt::models::weights
