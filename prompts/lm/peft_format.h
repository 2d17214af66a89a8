// PEFT's prompt-learning adapters (huggingface/peft: PeftModel.save_pretrained /
// from_pretrained) for the text-LM deltas, read from PEFT's source (peft_model.py get_prompt and
// get_prompt_embedding_to_save, utils/save_and_load.py, utils/other.py
// _prepare_prompt_learning_config, tuners/{prompt_tuning,prefix_tuning,p_tuning}, config.py):
//
//   DIR/adapter_config.json        json.dumps(config.to_dict(), indent=2, sort_keys=True), with
//                                  inference_mode true
//   DIR/adapter_model.safetensors  one tensor "prompt_embeddings" (fp32), metadata {"format": "pt"}
//
//   peft_type      prompt_embeddings                  vlprompt delta file
//   PROMPT_TUNING  [n, hidden]                        prompt_tuning.embeddings [n, hidden]
//   P_TUNING       [n, hidden] (the encoder's output) p_tuning.embeddings [n, hidden]
//   PREFIX_TUNING  [n, layers * 2 * token_dim],       prefix_tuning.key.l / .value.l
//                  token_dim = num_key_value_heads *  [n, kv_width]: row t viewed
//                  head_dim (PEFT's GQA rule)         [layers, 2, kv_width] is (key.l, value.l)
//
// PEFT turns the prefix row-block into past_key_values by view [B, n, layers*2, kv_heads,
// head_dim], permute [2, 0, 3, 1, 4], split(2): layer l's key is index 2l, its value 2l + 1 (heads
// then head_dim inside kv_width, unrotated), which is how our key/value prefixes are laid out.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "models/llama/llama_config.h"
#include "prompts/registry.h"
#include "src/delta/delta.h"

namespace vlprompt::prompts::lm {

// The name `vlprompt export --to` / `import --from` know this format by.
inline constexpr const char* kPeftFormat = "peft";

// The PEFT source whose format this follows (written as peft_version).
inline constexpr const char* kPeftVersion = "0.20.1.dev0@5d602fdbff04c33c1c4de55cda9d4ae1d7cb7e40";

struct PeftAdapter {
  nlohmann::json config;         // adapter_config.json
  at::Tensor prompt_embeddings;  // adapter_model.safetensors of a prompt-learning type
  core::TensorMap tensors;       // adapter_model.safetensors of LORA / IA3 (peft_tuners.h)
};

// The adapter PEFT would save for a delta given by its method, hyper-parameters and exported
// (collapsed) tensors, on a model of shape `model`. `base_model_name_or_path` is recorded (and is
// the tokenizer for TEXT init). A stack or a method PEFT has no prompt-learning type for is an
// Error naming it.
PeftAdapter to_peft(const std::string& method, const std::map<std::string, std::string>& hyper,
                    const core::TensorMap& tensors, const models::llama::LlamaConfig& model,
                    const std::string& base_model_name_or_path);
PeftAdapter to_peft(const delta::Delta& delta, const models::llama::LlamaConfig& model,
                    const std::string& base_model_name_or_path);

// Writes DIR/adapter_config.json and DIR/adapter_model.safetensors (each atomically).
void write_peft(const PeftAdapter& adapter, const std::string& dir);
// Reads them back; FileError naming the file and key for a missing file, malformed JSON, a
// missing or mistyped field, a peft_type vlprompt does not read (naming the ones it does) or a
// prompt-learning adapter without prompt_embeddings.
PeftAdapter read_peft(const std::string& dir);

// The delta an adapter stands for, built on context.model (load_only) with the adapter's tensor
// loaded. The adapter must fit the model: FileError naming `source`, the key, its value and the
// model's (unknown peft_type, task_type other than CAUSAL_LM, num_layers, token_dim, heads,
// the tensor's shape).
std::shared_ptr<delta::Delta> from_peft(const PeftAdapter& adapter, const LmMethodContext& context,
                                        const std::string& source);

// `vlprompt export --to peft`: delta file -> DIR. The model's shapes come from the LLaMA folder
// `model_dir` (the delta is checked against it) or, when it is "", from the delta file's own
// record of them (training.model); the folder is written as base_model_name_or_path.
void export_peft(const std::string& delta_path, const std::string& model_dir,
                 const std::string& out_dir);
// `vlprompt import --from peft`: DIR -> delta file on the LLaMA folder `model_dir`.
void import_peft(const std::string& dir, const std::string& model_dir, const std::string& out_path);

}  // namespace vlprompt::prompts::lm
