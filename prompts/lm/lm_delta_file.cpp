#include "prompts/lm/lm_delta_file.h"

#include <algorithm>
#include <filesystem>

#include "src/core/error.h"
#include "src/core/hash.h"
#include "src/delta/delta_stack.h"

namespace vlprompt::prompts::lm {

std::string delta_method(const delta::Delta& delta) {
  const auto* stack = dynamic_cast<const delta::DeltaStackImpl*>(&delta);
  if (!stack) return delta.method();
  std::string name;
  for (const auto& m : stack->member_names()) {
    name += (name.empty() ? "" : "+") + stack->member(m)->method();
  }
  return name;
}

std::string llama_fingerprint(const models::llama::LlamaModel& model) {
  std::map<std::string, at::Tensor> tensors;
  for (const auto& p : model->named_parameters(/*recurse=*/true)) tensors[p.key()] = p.value();
  return core::fingerprint(tensors);
}

delta::DeltaFileInfo lm_delta_info(const delta::Delta& delta,
                                   const models::llama::LlamaModel& model,
                                   const std::string& model_dir) {
  delta::DeltaFileInfo info;
  info.method = delta_method(delta);
  info.hyperparameters = delta.hyperparameters();
  std::filesystem::path dir(model_dir);
  if (dir.filename().empty()) dir = dir.parent_path();
  info.backbone = dir.filename().string();
  info.backbone_fingerprint = llama_fingerprint(model);
  info.tokenizer = "tokenizer.model";
  // The shapes a PEFT adapter_config.json records, so `export --to peft` needs no model.
  const models::llama::LlamaConfig& c = model->config();
  info.training["model"] = {{"folder", model_dir},
                            {"hidden_size", c.hidden_size},
                            {"num_hidden_layers", c.num_hidden_layers},
                            {"num_attention_heads", c.num_attention_heads},
                            {"num_key_value_heads", c.num_key_value_heads}};
  return info;
}

void write_lm_delta(const std::string& path, const delta::Delta& delta, delta::DeltaFileInfo info) {
  info.method = delta_method(delta);
  info.hyperparameters = delta.hyperparameters();
  delta::write_delta(path, delta.export_tensors(), info);
}

LoadedLmDelta load_lm_delta(const std::string& path, const LmMethodContext& context) {
  return load_lm_delta(delta::read_delta(path), path, context);
}

LoadedLmDelta load_lm_delta(delta::DeltaFile file, const std::string& path,
                            const LmMethodContext& context) {
  if (!context.model) throw Error("load " + path + ": no LLaMA model to apply it to");
  delta::check_backbone(file.info, llama_fingerprint(context.model), file.info.backbone);
  LmMethodContext own = context;
  own.load_only = true;
  LoadedLmDelta out;
  try {
    const std::vector<std::string> members = method_members(file.info.method);
    out.delta =
        make_lm_delta(file.info.method,
                      file_config(members, file.info.hyperparameters, "delta file " + path), own);
  } catch (const FileError&) {
    throw;
  } catch (const Error& e) {
    throw FileError(path, std::string("cannot rebuild the delta from its metadata: ") + e.what());
  }
  out.delta->load_named_tensors(file.tensors, path);
  out.info = std::move(file.info);
  return out;
}

std::shared_ptr<delta::Delta> stack_on_lm_delta(const std::string& init_delta,
                                                const std::string& method,
                                                const core::ResolvedConfig& config,
                                                const LmMethodContext& context, bool freeze) {
  if (!context.model) throw Error("--init-delta " + init_delta + ": no LLaMA model to apply it to");
  delta::DeltaFile file = delta::read_delta(init_delta);
  delta::check_backbone(file.info, llama_fingerprint(context.model), file.info.backbone);
  const std::vector<std::string> added = method_members(method);
  std::vector<std::string> init;
  try {
    init = method_members(file.info.method);
  } catch (const Error& e) {
    throw FileError(init_delta,
                    std::string("cannot rebuild the delta from its metadata: ") + e.what());
  }
  for (const auto& m : init) {
    if (std::find(added.begin(), added.end(), m) != added.end()) {
      throw Error("--init-delta " + init_delta + " already holds '" + m +
                  "'; stack other members on it");
    }
    if (!find_method(m).is_lm_delta()) {
      throw FileError(init_delta, "member '" + m + "' is not a text-LM delta");
    }
  }
  LmMethodContext own = context;
  own.load_only = true;
  const core::ResolvedConfig init_config =
      file_config(init, file.info.hyperparameters, "delta file " + init_delta);
  delta::DeltaStack stack{delta::DeltaStackOptions{}};
  for (const auto& m : init) stack->add(m, find_method(m).make_lm_delta(init_config, m, own));
  stack->load_named_tensors(file.tensors, init_delta);
  if (freeze) {
    for (const auto& m : init) stack->freeze(m);
  }
  for (const auto& m : added) stack->add(m, find_method(m).make_lm_delta(config, m, context));
  return stack.ptr();
}

}  // namespace vlprompt::prompts::lm
