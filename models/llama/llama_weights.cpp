#include "models/llama/llama_weights.h"

#include <torch/torch.h>

#include <set>

#include "models/llama/llama_weight_files.h"
#include "src/core/error.h"

namespace vlprompt::models::llama {

LlamaTensors read_llama_tensors(const std::string& folder) {
  const WeightFiles files = locate_weight_files(folder);
  // The header pass checks dtypes and duplicates before any tensor data is read.
  const WeightHeaders headers = read_weight_headers(files);
  LlamaTensors out;
  out.source = files.source;
  for (const auto& file : files.files) {
    core::TensorFile read = core::read_safetensors(file.path);
    if (out.file_of.empty()) out.metadata = read.metadata;
    for (auto& [name, tensor] : read.tensors) {
      // The index decides where a tensor lives; a copy in another shard is not read twice.
      const auto home = headers.file_of.find(name);
      if (home == headers.file_of.end() || home->second != file.path) continue;
      // In the stored dtype: a BF16 infinity is one in fp32 too, but is named in its own file.
      core::check_finite({{name, tensor}}, file.path);
      out.tensors[name] = tensor.to(at::kFloat);
      out.file_of[name] = file.path;
    }
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
  // Before the model is built: its size is then what the weight files hold, not what a config
  // claims.
  check_config_against_weights(config, read_weight_headers(locate_weight_files(folder)),
                               folder + "/config.json");
  LlamaModel model(config);
  LlamaTensors tensors = read_llama_tensors(folder);
  load_llama_tensors(model, tensors, folder);
  if (metadata) *metadata = std::move(tensors.metadata);
  for (auto& p : model->parameters()) p.set_requires_grad(false);
  model->eval();
  return model;
}

}  // namespace vlprompt::models::llama
