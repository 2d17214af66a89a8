#include "models/weights/hf_config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "src/core/error.h"

namespace vlprompt::models::weights {
namespace {

using json = nlohmann::json;

// transformers' CLIPTextConfig / CLIPVisionConfig defaults, used for keys a config.json omits.
const json kTextDefaults = {
    {"hidden_size", 512},         {"intermediate_size", 2048},     {"num_attention_heads", 8},
    {"num_hidden_layers", 12},    {"max_position_embeddings", 77}, {"vocab_size", 49408},
    {"hidden_act", "quick_gelu"}, {"layer_norm_eps", 1e-5}};
const json kVisionDefaults = {
    {"hidden_size", 768},      {"intermediate_size", 3072},  {"num_attention_heads", 12},
    {"num_hidden_layers", 12}, {"image_size", 224},          {"patch_size", 32},
    {"num_channels", 3},       {"hidden_act", "quick_gelu"}, {"layer_norm_eps", 1e-5}};
constexpr int64_t kDefaultProjectionDim = 512;

class Section {
 public:
  Section(const json& root, const std::string& name, const json& defaults, const std::string& path)
      : name_(name), defaults_(defaults), path_(path) {
    for (const std::string& key : {name, name + "_dict"}) {
      if (root.contains(key) && root[key].is_object()) {
        obj_ = root[key];
        return;
      }
    }
    obj_ = json::object();  // every key from HF's defaults
  }

  const json& value(const std::string& key) const {
    if (obj_.contains(key) && !obj_[key].is_null()) return obj_[key];
    return defaults_.at(key);
  }

  int64_t integer(const std::string& key) const {
    const json& v = value(key);
    if (!v.is_number_integer() || v.get<int64_t>() <= 0)
      throw FileError(
          path_, "'" + name_ + "." + key + "' is " + v.dump() + ", expected a positive integer");
    return v.get<int64_t>();
  }

  // The canonical model is OpenAI's CLIP: QuickGELU MLPs of 4x width, LayerNorm eps 1e-5.
  void check_canonical(int64_t width) const {
    const json& act = value("hidden_act");
    if (!act.is_string() || act.get<std::string>() != "quick_gelu")
      throw FileError(path_, "'" + name_ + ".hidden_act' is " + act.dump() +
                                 ", expected \"quick_gelu\" (CLIP's QuickGELU is what the "
                                 "canonical model computes)");
    if (integer("intermediate_size") != 4 * width)
      throw FileError(path_, "'" + name_ + ".intermediate_size' is " +
                                 std::to_string(integer("intermediate_size")) + ", expected " +
                                 std::to_string(4 * width) + " (4 x hidden_size, as in CLIP)");
    const json& eps = value("layer_norm_eps");
    if (!eps.is_number() || std::abs(eps.get<double>() - 1e-5) > 1e-12)
      throw FileError(path_, "'" + name_ + ".layer_norm_eps' is " + eps.dump() +
                                 ", expected 1e-05 (CLIP's LayerNorm)");
  }

 private:
  std::string name_;
  json obj_;
  const json& defaults_;
  std::string path_;
};

}  // namespace

ClipConfig hf_config_from_json(const std::string& text, const std::string& path) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& e) {
    throw FileError(path, std::string("not valid JSON: ") + e.what());
  }
  if (!root.is_object()) throw FileError(path, "not a JSON object");
  if (root.contains("model_type") && root["model_type"] != "clip")
    throw FileError(path, "'model_type' is " + root["model_type"].dump() +
                              ", expected \"clip\" (a Hugging Face CLIPModel folder)");
  const Section t(root, "text_config", kTextDefaults, path);
  const Section v(root, "vision_config", kVisionDefaults, path);

  ClipConfig c;
  c.name = "hf";
  c.embed_dim = kDefaultProjectionDim;
  if (root.contains("projection_dim")) {
    if (!root["projection_dim"].is_number_integer())
      throw FileError(
          path, "'projection_dim' is " + root["projection_dim"].dump() + ", expected an integer");
    c.embed_dim = root["projection_dim"].get<int64_t>();
  }
  c.text.width = t.integer("hidden_size");
  c.text.heads = t.integer("num_attention_heads");
  c.text.layers = t.integer("num_hidden_layers");
  c.text.context_length = t.integer("max_position_embeddings");
  c.text.vocab_size = t.integer("vocab_size");
  t.check_canonical(c.text.width);

  c.vision.type = "vit";
  c.vision.width = v.integer("hidden_size");
  c.vision.heads = v.integer("num_attention_heads");
  c.vision.layers = v.integer("num_hidden_layers");
  c.vision.image_resolution = v.integer("image_size");
  c.vision.patch_size = v.integer("patch_size");
  if (v.integer("num_channels") != 3)
    throw FileError(path, "'vision_config.num_channels' is " +
                              std::to_string(v.integer("num_channels")) + ", expected 3 (RGB)");
  v.check_canonical(c.vision.width);
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
