#include "models/weights/config_json.h"

#include <nlohmann/json.hpp>

#include "src/core/error.h"

namespace vlprompt::models::weights {
namespace {

using json = nlohmann::json;

int64_t get_int(const json& obj, const std::string& key, const std::string& where,
                const std::string& path) {
  if (!obj.contains(key) || !obj[key].is_number_integer())
    throw FileError(path, "architecture key '" + where + key + "' is missing or not an integer");
  return obj[key].get<int64_t>();
}

const json& get_object(const json& obj, const std::string& key, const std::string& path) {
  if (!obj.contains(key) || !obj[key].is_object())
    throw FileError(path, "architecture key '" + key + "' is missing or not an object");
  return obj[key];
}

}  // namespace

std::string config_to_json(const ClipConfig& c) {
  json vision = {{"type", c.vision.type},
                 {"image_resolution", c.vision.image_resolution},
                 {"width", c.vision.width},
                 {"heads", c.vision.heads}};
  if (c.vision.type == "vit") {
    vision["layers"] = c.vision.layers;
    vision["patch_size"] = c.vision.patch_size;
  } else {
    vision["resnet_layers"] = c.vision.resnet_layers;
  }
  json text = {{"context_length", c.text.context_length},
               {"vocab_size", c.text.vocab_size},
               {"width", c.text.width},
               {"heads", c.text.heads},
               {"layers", c.text.layers}};
  return json{{"name", c.name}, {"embed_dim", c.embed_dim}, {"vision", vision}, {"text", text}}
      .dump();
}

ClipConfig config_from_json(const std::string& text, const std::string& path) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw FileError(path, std::string("architecture is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw FileError(path, "architecture is not a JSON object");
  ClipConfig c;
  c.name = j.contains("name") && j["name"].is_string() ? j["name"].get<std::string>() : "";
  c.embed_dim = get_int(j, "embed_dim", "", path);

  const json& v = get_object(j, "vision", path);
  if (!v.contains("type") || !v["type"].is_string())
    throw FileError(path, "architecture key 'vision.type' is missing or not a string");
  c.vision.type = v["type"].get<std::string>();
  c.vision.image_resolution = get_int(v, "image_resolution", "vision.", path);
  c.vision.width = get_int(v, "width", "vision.", path);
  c.vision.heads = get_int(v, "heads", "vision.", path);
  if (c.vision.type == "vit") {
    c.vision.layers = get_int(v, "layers", "vision.", path);
    c.vision.patch_size = get_int(v, "patch_size", "vision.", path);
  } else if (c.vision.type == "modified_resnet") {
    if (!v.contains("resnet_layers") || !v["resnet_layers"].is_array() ||
        v["resnet_layers"].size() != 4)
      throw FileError(path, "architecture key 'vision.resnet_layers' must list 4 block counts");
    for (const json& n : v["resnet_layers"]) {
      if (!n.is_number_integer())
        throw FileError(path, "architecture key 'vision.resnet_layers' holds a non-integer");
      c.vision.resnet_layers.push_back(n.get<int64_t>());
    }
    c.vision.layers = 0;
    c.vision.patch_size = 0;
  } else {
    throw FileError(path, "architecture key 'vision.type' is '" + c.vision.type +
                              "', expected vit or modified_resnet");
  }

  const json& t = get_object(j, "text", path);
  c.text.context_length = get_int(t, "context_length", "text.", path);
  c.text.vocab_size = get_int(t, "vocab_size", "text.", path);
  c.text.width = get_int(t, "width", "text.", path);
  c.text.heads = get_int(t, "heads", "text.", path);
  c.text.layers = get_int(t, "layers", "text.", path);
  return c;
}

}  // namespace vlprompt::models::weights
