// PEFT's weight-space tuners (LoRA, IA3) as PEFT saves them (peft/tuners/lora/config.py LoraConfig,
// peft/tuners/ia3/config.py IA3Config, peft/utils/save_and_load.py get_peft_model_state_dict; the
// commit in peft_format.h), for the module deltas on a LLaMA-family model:
//
//   adapter_model.safetensors (fp32, metadata {"format": "pt"}), adapter name stripped:
//     base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight   [r, in]
//     base_model.model.model.layers.{i}.self_attn.q_proj.lora_B.weight   [out, r]
//     base_model.model.model.layers.{i}.mlp.down_proj.ia3_l.weight       [1, in]  (feed-forward)
//     base_model.model.model.layers.{i}.self_attn.k_proj.ia3_l.weight    [out, 1]
//   vlprompt delta file:
//     lora.text.layers.{i}.q_proj.lora_A / .lora_B, ia3.text.layers.{i}.k_proj.ia3_l [n]
//
// Import reads the targets and layers from the tensors it is given (the config's target_modules
// may be a regular expression), checks them against the config and the model, ignores config keys
// it does not know (a newer PEFT writes more), and refuses what it cannot apply exactly, by name:
// DoRA, rank_pattern / alpha_pattern, trained biases, fan_in_fan_out, modules_to_save.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "models/llama/llama_config.h"
#include "prompts/registry.h"
#include "src/core/safetensors.h"

namespace vlprompt::prompts::lm {

// Whether `peft_type` ("LORA", "IA3") / `method` ("lora", "ia3") is one of these tuners.
bool is_peft_tuner_type(const std::string& peft_type);
bool is_peft_tuner_method(const std::string& method);

struct PeftTunerAdapter {
  nlohmann::json config;
  core::TensorMap tensors;  // PEFT's keys
};

// The adapter for a delta given by method, hyper-parameters and tensors (delta-file names).
PeftTunerAdapter to_peft_tuner(const std::string& method,
                               const std::map<std::string, std::string>& hyper,
                               const core::TensorMap& tensors,
                               const models::llama::LlamaConfig& model,
                               const std::string& base_model_name_or_path);

// The delta an adapter stands for on context.model, its tensors loaded. `config_path` and
// `weights_path` name the files in errors.
std::shared_ptr<delta::Delta> from_peft_tuner(const nlohmann::json& config,
                                              const core::TensorMap& tensors,
                                              const LmMethodContext& context,
                                              const std::string& config_path,
                                              const std::string& weights_path);

}  // namespace vlprompt::prompts::lm
