#include "models/llama/llama_weight_files.h"

#include <filesystem>

#include "models/llama/llama_files.h"
#include "src/core/error.h"

namespace vlprompt::models::llama {
namespace llama_weight_files_detail {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// Layer indices named by "model.layers.<i>." tensors.
std::set<int64_t> layer_indices(const WeightHeaders& h) {
  const std::string prefix = "model.layers.";
  std::set<int64_t> out;
  for (const auto& [name, info] : h.info) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const size_t dot = name.find('.', prefix.size());
    const std::string digits = name.substr(prefix.size(), dot - prefix.size());
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      continue;  // left for the loader, which names it as an unexpected tensor
    out.insert(std::stoll(digits));
  }
  return out;
}

}  // namespace llama_weight_files_detail

WeightFiles locate_weight_files(const std::string& folder) {
  WeightFiles out;
  const std::string single = folder + "/model.safetensors";
  const std::string index_path = folder + "/model.safetensors.index.json";
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(single, ec))) {
    out.files.push_back({single, std::nullopt});
    out.source = single;
    return out;
  }
  const auto index = read_optional_json_object(index_path);
  if (!index)
    throw FileError(folder,
                    "no model.safetensors or model.safetensors.index.json (a Hugging "
                    "Face folder holds one of them)");
  if (!index->contains("weight_map") || !(*index)["weight_map"].is_object())
    throw FileError(index_path, "missing key 'weight_map' (an object: tensor name -> file)");
  out.source = index_path;
  std::map<std::string, std::set<std::string>> by_file;
  for (const auto& [name, file] : (*index)["weight_map"].items()) {
    if (!file.is_string())
      throw FileError(index_path,
                      "weight_map['" + name + "'] is " + file.dump() + ", expected a file name");
    const std::string shard = file.get<std::string>();
    if (shard.empty() || shard.find('/') != std::string::npos ||
        shard.find("..") != std::string::npos)
      throw FileError(index_path, "weight_map['" + name + "'] names '" + shard +
                                      "', expected a file in the same folder");
    by_file[shard].insert(name);
  }
  for (auto& [shard, names] : by_file) out.files.push_back({folder + "/" + shard, names});
  return out;
}

WeightHeaders read_weight_headers(const WeightFiles& files) {
  WeightHeaders out;
  out.source = files.source;
  for (const auto& file : files.files) {
    for (auto& [name, info] : core::read_safetensors_header(file.path)) {
      if (file.only && !file.only->count(name)) continue;
      if (info.dtype != "F32" && info.dtype != "F16" && info.dtype != "BF16")
        throw FileError(file.path, "tensor '" + name + "' has dtype " + info.dtype +
                                       ", expected F32, F16 or BF16");
      if (out.file_of.count(name))
        throw FileError(file.path, "tensor '" + name + "' also appears in " + out.file_of[name]);
      out.info[name] = info;
      out.file_of[name] = file.path;
    }
    if (file.only)
      for (const auto& name : *file.only)
        if (!out.info.count(name))
          throw FileError(file.path, "tensor '" + name + "' is missing (" + files.source +
                                         " places it in this file)");
  }
  return out;
}

void check_config_against_weights(const LlamaConfig& c, const WeightHeaders& h,
                                  const std::string& config_path) {
  using namespace llama_weight_files_detail;
  // The first dimension of `tensor` must be `value` of `key`; absent tensors are the loader's to
  // name, with their expected shapes.
  // Dimension `dim` of `tensor` must be as config.json says (`want`); absent tensors are the
  // loader's to name, after this check has bounded the model by what the files hold.
  auto check_dim = [&](const std::string& tensor, size_t dim, const std::vector<int64_t>& want,
                       const std::string& key, int64_t value, const std::string& meaning) {
    const auto it = h.info.find(tensor);
    if (it == h.info.end()) return;
    const auto& shape = it->second.shape;
    if (shape.size() == want.size() && shape[dim] == want[dim]) return;
    throw FileError(config_path, "key '" + key + "' is " + std::to_string(value) + ", but '" +
                                     tensor + "' in " + h.file_of.at(tensor) + " has shape " +
                                     shape_text(shape) + " (expected " + shape_text(want) + ": " +
                                     meaning + ")");
  };
  const std::string embed = "model.embed_tokens.weight";
  if (!h.info.count(embed))
    throw FileError(h.source, "no tensor '" + embed + "' (the token embedding)");
  const std::vector<int64_t> embed_shape = {c.vocab_size, c.hidden_size};
  const std::string embed_meaning = "[vocab_size, hidden_size]";
  check_dim(embed, 1, embed_shape, "hidden_size", c.hidden_size, embed_meaning);
  check_dim(embed, 0, embed_shape, "vocab_size", c.vocab_size, embed_meaning);
  const std::set<int64_t> layers = layer_indices(h);
  const int64_t count = static_cast<int64_t>(layers.size());
  if (count != c.num_hidden_layers || (count > 0 && *layers.rbegin() != count - 1))
    throw FileError(config_path, "key 'num_hidden_layers' is " +
                                     std::to_string(c.num_hidden_layers) + ", but " + h.source +
                                     " holds " + std::to_string(count) + " layers" +
                                     (count ? " (model.layers." + std::to_string(*layers.begin()) +
                                                  " to " + std::to_string(*layers.rbegin()) + ")"
                                            : std::string()));
  check_dim("model.layers.0.mlp.gate_proj.weight", 0, {c.intermediate_size, c.hidden_size},
            "intermediate_size", c.intermediate_size, "[intermediate_size, hidden_size]");
  check_dim("model.layers.0.self_attn.k_proj.weight", 0, {c.kv_width(), c.hidden_size},
            "num_key_value_heads", c.num_key_value_heads,
            "[num_key_value_heads x head_dim " + std::to_string(c.head_dim()) + ", hidden_size]");
  if (!c.tie_word_embeddings && !h.info.count("lm_head.weight"))
    throw FileError(config_path, "key 'tie_word_embeddings' is false (or absent), but " + h.source +
                                     " holds no 'lm_head.weight'");
}

}  // namespace vlprompt::models::llama
