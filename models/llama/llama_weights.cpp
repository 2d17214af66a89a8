#include "models/llama/llama_weights.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "src/core/error.h"

namespace vlprompt::models::llama {
namespace llama_weights_detail {

namespace fs = std::filesystem;

void add_file(LlamaTensors& out, const std::string& path, const std::set<std::string>* only) {
  core::TensorFile file = core::read_safetensors(path);
  if (out.file_of.empty()) out.metadata = file.metadata;
  for (auto& [name, tensor] : file.tensors) {
    // The index decides where a tensor lives; a copy in another shard is not read twice.
    if (only && !only->count(name)) continue;
    const at::ScalarType type = tensor.scalar_type();
    if (type != at::kFloat && type != at::kHalf && type != at::kBFloat16)
      throw FileError(path, "tensor '" + name + "' has dtype " + core::dtype_to_safetensors(type) +
                                ", expected F32, F16 or BF16");
    if (out.tensors.count(name))
      throw FileError(path, "tensor '" + name + "' also appears in " + out.file_of[name]);
    out.tensors[name] = tensor.to(at::kFloat);
    out.file_of[name] = path;
  }
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw FileError(path, "cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace llama_weights_detail

LlamaTensors read_llama_tensors(const std::string& folder) {
  using namespace llama_weights_detail;
  LlamaTensors out;
  const std::string single = folder + "/model.safetensors";
  const std::string index_path = folder + "/model.safetensors.index.json";
  if (fs::exists(single)) {
    add_file(out, single, nullptr);
    out.source = single;
    return out;
  }
  if (!fs::exists(index_path))
    throw FileError(folder,
                    "no model.safetensors or model.safetensors.index.json (a Hugging "
                    "Face folder holds one of them)");
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(slurp(index_path));
  } catch (const nlohmann::json::exception& e) {
    throw FileError(index_path, std::string("not valid JSON: ") + e.what());
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    throw FileError(index_path, "missing key 'weight_map' (an object: tensor name -> file)");
  out.source = index_path;
  std::map<std::string, std::set<std::string>> by_file;
  for (const auto& [name, file] : index["weight_map"].items()) {
    if (!file.is_string())
      throw FileError(index_path,
                      "weight_map['" + name + "'] is " + file.dump() + ", expected a file name");
    const std::string shard = file.get<std::string>();
    if (shard.find('/') != std::string::npos || shard.find("..") != std::string::npos)
      throw FileError(index_path, "weight_map['" + name + "'] names '" + shard +
                                      "', expected a file in the same folder");
    by_file[shard].insert(name);
  }
  for (const auto& [shard, names] : by_file) {
    const std::string path = folder + "/" + shard;
    add_file(out, path, &names);
    for (const auto& name : names)
      if (!out.tensors.count(name))
        throw FileError(
            path, "tensor '" + name + "' is missing (" + index_path + " places it in this file)");
  }
  return out;
}

void load_llama_tensors(LlamaModel& model, const LlamaTensors& in, const std::string& folder) {
  torch::NoGradGuard no_grad;
  std::set<std::string> used;
  for (auto& item : model->named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    auto it = in.tensors.find(name);
    if (it == in.tensors.end()) {
      throw FileError(in.source.empty() ? folder : in.source,
                      "missing tensor '" + name + "' of shape " + c10::str(item.value().sizes()) +
                          " (config.json's shapes)");
    }
    if (it->second.sizes() != item.value().sizes())
      throw FileError(in.file_of.at(name),
                      "tensor '" + name + "' has shape " + c10::str(it->second.sizes()) +
                          ", expected " + c10::str(item.value().sizes()) + " from config.json");
    item.value().copy_(it->second);
    used.insert(name);
  }
  for (const auto& [name, tensor] : in.tensors) {
    if (used.count(name)) continue;
    // Older checkpoints store the rotary inverse frequencies; the model recomputes them.
    if (name.size() >= 8 && name.compare(name.size() - 8, 8, "inv_freq") == 0) continue;
    throw FileError(in.file_of.at(name),
                    "unexpected tensor '" + name + "' (not a parameter of " +
                        model->config().architecture + " with this config.json" +
                        (model->config().tie_word_embeddings && name == "lm_head.weight"
                             ? ", whose tie_word_embeddings is true"
                             : "") +
                        ")");
  }
}

LlamaModel load_llama(const std::string& folder, core::Metadata* metadata) {
  const LlamaConfig config = read_llama_config(folder);
  LlamaModel model(config);
  LlamaTensors tensors = read_llama_tensors(folder);
  load_llama_tensors(model, tensors, folder);
  if (metadata) *metadata = std::move(tensors.metadata);
  for (auto& p : model->parameters()) p.set_requires_grad(false);
  model->eval();
  return model;
}

}  // namespace vlprompt::models::llama
