#include "prompts/lm/peft_format.h"

#include <filesystem>

#include "models/llama/llama_weights.h"
#include "prompts/lm/lm_delta_file.h"
#include "prompts/lm/peft_tuners.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/safetensors.h"
#include "src/delta/delta_file.h"

namespace vlprompt::prompts::lm {
namespace {

constexpr const char* kConfigName = "adapter_config.json";
constexpr const char* kWeightsName = "adapter_model.safetensors";
constexpr const char* kKey = "prompt_embeddings";

// PEFT's PROMPT_TUNING init names <-> ours. Lester's label init has no PEFT name: it is written as
// RANDOM (PEFT ignores the init when loading, inference_mode) and reads back as random.
const std::map<std::string, std::string> kInitToPeft{
    {"random", "RANDOM"}, {"vocab", "SAMPLE_VOCAB"}, {"text", "TEXT"}, {"labels", "RANDOM"}};

const std::string& hyper(const std::map<std::string, std::string>& h, const std::string& key,
                         const std::string& method) {
  auto it = h.find(key);
  if (it == h.end()) throw Error(method + ": hyper-parameter '" + key + "' is missing");
  return it->second;
}

const at::Tensor& tensor(const core::TensorMap& t, const std::string& name) {
  auto it = t.find(name);
  if (it == t.end()) throw Error("tensor '" + name + "' is missing");
  return it->second;
}

// The fields every PromptLearningConfig writes (PeftConfigMixin, PeftConfig, PromptLearningConfig).
nlohmann::json common_config(const std::string& peft_type, int64_t n, int64_t token_dim,
                             int64_t heads, int64_t layers, const std::string& base) {
  return {{"auto_mapping", nullptr},
          {"base_model_name_or_path", base.empty() ? nlohmann::json() : nlohmann::json(base)},
          {"inference_mode", true},
          {"modules_to_save", nullptr},
          {"num_attention_heads", heads},
          {"num_layers", layers},
          {"num_transformer_submodules", 1},
          {"num_virtual_tokens", n},
          {"peft_type", peft_type},
          {"peft_version", kPeftVersion},
          {"revision", nullptr},
          {"task_type", "CAUSAL_LM"},
          {"token_dim", token_dim}};
}

int64_t to_int(const std::string& s) { return std::stoll(s); }

}  // namespace

PeftAdapter to_peft(const std::string& method, const std::map<std::string, std::string>& h,
                    const core::TensorMap& tensors, const models::llama::LlamaConfig& model,
                    const std::string& base) {
  if (is_peft_tuner_method(method)) {
    PeftTunerAdapter tuner = to_peft_tuner(method, h, tensors, model, base);
    PeftAdapter out;
    out.config = std::move(tuner.config);
    out.tensors = std::move(tuner.tensors);
    return out;
  }
  const int64_t n = to_int(hyper(h, "n_virtual", method));
  const int64_t layers = model.num_hidden_layers;
  PeftAdapter out;
  if (method == "prompt_tuning") {
    const std::string& init = hyper(h, "init", method);
    const std::string peft_init = kInitToPeft.count(init) ? kInitToPeft.at(init) : "RANDOM";
    const bool text = peft_init == "TEXT";
    out.config = common_config("PROMPT_TUNING", n, model.hidden_size, model.num_attention_heads,
                               layers, base);
    out.config["prompt_tuning_init"] = peft_init;
    out.config["prompt_tuning_init_text"] =
        text ? nlohmann::json(hyper(h, "init_text", method)) : nlohmann::json();
    out.config["tokenizer_kwargs"] = nullptr;
    // PEFT refuses a TEXT config without a tokenizer, even when loading.
    out.config["tokenizer_name_or_path"] =
        text && !base.empty() ? nlohmann::json(base) : nlohmann::json();
    out.prompt_embeddings = tensor(tensors, method + ".embeddings");
  } else if (method == "p_tuning") {
    out.config =
        common_config("P_TUNING", n, model.hidden_size, model.num_attention_heads, layers, base);
    out.config["encoder_dropout"] = std::stod(hyper(h, "encoder_dropout", method));
    out.config["encoder_hidden_size"] = to_int(hyper(h, "encoder_hidden_size", method));
    out.config["encoder_num_layers"] = to_int(hyper(h, "encoder_num_layers", method));
    const std::string& encoder = hyper(h, "encoder", method);
    out.config["encoder_reparameterization_type"] = encoder == "lstm" ? "LSTM" : "MLP";
    out.prompt_embeddings = tensor(tensors, method + ".embeddings");
  } else if (method == "prefix_tuning") {
    // PEFT's GQA rule: token_dim = head_dim * num_key_value_heads, heads = num_key_value_heads.
    const int64_t width = model.kv_width();
    out.config = common_config("PREFIX_TUNING", n, width, model.num_key_value_heads, layers, base);
    out.config["encoder_hidden_size"] = to_int(hyper(h, "encoder_hidden_size", method));
    const std::string& init = hyper(h, "init_weights", method);
    out.config["init_weights"] = init == "zero" ? nlohmann::json("zero") : nlohmann::json();
    out.config["prefix_projection"] = hyper(h, "prefix_projection", method) == "true";
    std::vector<at::Tensor> parts;  // row t: layer-major, key then value
    for (int64_t l = 0; l < layers; ++l) {
      parts.push_back(tensor(tensors, method + ".key." + std::to_string(l)).unsqueeze(1));
      parts.push_back(tensor(tensors, method + ".value." + std::to_string(l)).unsqueeze(1));
    }
    out.prompt_embeddings = at::cat(parts, 1).reshape({n, layers * 2 * width});
  } else {
    throw Error("PEFT export: method '" + method +
                "' has no PEFT prompt-learning type (prompt_tuning, prefix_tuning and p_tuning "
                "do; a stack of several cannot be one adapter)");
  }
  out.prompt_embeddings = out.prompt_embeddings.detach().to(at::kCPU, at::kFloat).contiguous();
  return out;
}

PeftAdapter to_peft(const delta::Delta& delta, const models::llama::LlamaConfig& model,
                    const std::string& base) {
  return to_peft(delta.method(), delta.hyperparameters(), delta.export_tensors(), model, base);
}

void write_peft(const PeftAdapter& adapter, const std::string& dir) {
  std::filesystem::create_directories(dir);
  core::write_safetensors(dir + "/" + kWeightsName,
                          adapter.tensors.empty()
                              ? core::TensorMap{{kKey, adapter.prompt_embeddings}}
                              : adapter.tensors,
                          {{"format", "pt"}});
  // json.dumps(indent=2, sort_keys=True): nlohmann's objects are sorted; ASCII-escaped as Python.
  core::atomic_write(dir + "/" + kConfigName, adapter.config.dump(2, ' ', true));
}

PeftAdapter read_peft(const std::string& dir) {
  const std::string config_path = dir + "/" + kConfigName;
  const std::string weights_path = dir + "/" + kWeightsName;
  if (!core::file_exists(config_path)) {
    throw FileError(config_path, "not found: a PEFT adapter folder holds adapter_config.json");
  }
  PeftAdapter out;
  try {
    out.config = nlohmann::json::parse(core::read_file(config_path));
  } catch (const nlohmann::json::exception& e) {
    throw FileError(config_path, std::string("is not valid JSON: ") + e.what());
  }
  if (!out.config.is_object()) throw FileError(config_path, "is not a JSON object");
  if (!core::file_exists(weights_path)) {
    const bool bin = core::file_exists(dir + "/adapter_model.bin");
    throw FileError(weights_path, bin ? "not found (adapter_model.bin, the pickle format, is not "
                                        "read: save with safe_serialization=True)"
                                      : "not found");
  }
  // The type decides what the weights hold: read it before them, so that a LoRA folder is named
  // as one instead of being searched for prompt_embeddings.
  const nlohmann::json type = out.config.value("peft_type", nlohmann::json());
  if (!type.is_string()) {
    throw FileError(config_path, "field 'peft_type' is " + type.dump() + ", expected a string");
  }
  const std::string peft_type = type.get<std::string>();
  const bool prompt_learning =
      peft_type == "PROMPT_TUNING" || peft_type == "PREFIX_TUNING" || peft_type == "P_TUNING";
  if (!prompt_learning && !is_peft_tuner_type(peft_type)) {
    throw FileError(config_path, "field 'peft_type' is '" + peft_type +
                                     "', which vlprompt does not read; it reads PROMPT_TUNING, "
                                     "PREFIX_TUNING, P_TUNING, LORA and IA3");
  }
  core::TensorFile file = core::read_safetensors(weights_path);
  if (!prompt_learning) {
    out.tensors = std::move(file.tensors);
    return out;
  }
  auto it = file.tensors.find(kKey);
  if (it == file.tensors.end()) {
    std::string held;
    for (const auto& [k, t] : file.tensors) held += (held.empty() ? "" : ", ") + k;
    throw FileError(weights_path, std::string("tensor '") + kKey + "' is missing (it holds: " +
                                      (held.empty() ? "nothing" : held) + ")");
  }
  out.prompt_embeddings = it->second;
  return out;
}

namespace {

struct ConfigReader {
  const nlohmann::json& config;
  std::string path;

  const nlohmann::json& field(const std::string& key) const {
    if (!config.contains(key)) throw FileError(path, "field '" + key + "' is missing");
    return config.at(key);
  }
  int64_t integer(const std::string& key) const {
    const nlohmann::json& v = field(key);
    if (!v.is_number_integer()) {
      throw FileError(path, "field '" + key + "' is " + v.dump() + ", expected an integer");
    }
    return v.get<int64_t>();
  }
  std::string text(const std::string& key, bool nullable = false) const {
    const nlohmann::json& v = field(key);
    if (v.is_null() && nullable) return "";
    if (!v.is_string()) {
      throw FileError(path, "field '" + key + "' is " + v.dump() + ", expected a string");
    }
    return v.get<std::string>();
  }
  // The adapter's value must be the model's.
  void expect(const std::string& key, int64_t model_value, const std::string& what) const {
    const int64_t v = integer(key);
    if (v != model_value) {
      throw FileError(path, "field '" + key + "' is " + std::to_string(v) + " but the model has " +
                                std::to_string(model_value) + " (" + what + ")");
    }
  }
};

}  // namespace

std::shared_ptr<delta::Delta> from_peft(const PeftAdapter& adapter, const LmMethodContext& context,
                                        const std::string& source) {
  if (!context.model) throw Error("PEFT import: no LLaMA model to apply the adapter to");
  const auto& model = context.model->config();
  const ConfigReader c{adapter.config, source + "/" + kConfigName};
  const std::string weights_path = source + "/" + kWeightsName;
  const std::string type = c.text("peft_type");
  if (is_peft_tuner_type(type)) {
    return from_peft_tuner(adapter.config, adapter.tensors, context, c.path, weights_path);
  }
  const std::map<std::string, std::string> methods{{"PROMPT_TUNING", "prompt_tuning"},
                                                   {"PREFIX_TUNING", "prefix_tuning"},
                                                   {"P_TUNING", "p_tuning"}};
  if (!methods.count(type)) {
    throw FileError(c.path, "field 'peft_type' is '" + type +
                                "'; vlprompt reads PROMPT_TUNING, PREFIX_TUNING, P_TUNING, LORA "
                                "and IA3");
  }
  const std::string method = methods.at(type);
  const std::string task = c.config.contains("task_type") ? c.text("task_type", true) : "";
  if (!task.empty() && task != "CAUSAL_LM") {
    throw FileError(
        c.path, "field 'task_type' is '" + task + "'; a LLaMA-family adapter here is CAUSAL_LM");
  }
  if (c.config.contains("num_transformer_submodules") &&
      !c.field("num_transformer_submodules").is_null() &&
      c.integer("num_transformer_submodules") != 1) {
    c.expect("num_transformer_submodules", 1, "a decoder-only model has one");
  }
  c.expect("num_layers", model.num_hidden_layers, "num_hidden_layers");
  const int64_t n = c.integer("num_virtual_tokens");
  if (n < 0) throw FileError(c.path, "field 'num_virtual_tokens' is negative");
  std::map<std::string, std::string> h{{"n_virtual", std::to_string(n)}};
  std::vector<int64_t> shape{n, model.hidden_size};
  if (type == "PREFIX_TUNING") {
    c.expect("token_dim", model.kv_width(), "num_key_value_heads * head_dim, PEFT's GQA rule");
    c.expect("num_attention_heads", model.num_key_value_heads, "num_key_value_heads");
    shape = {n, model.num_hidden_layers * 2 * model.kv_width()};
    if (!c.field("prefix_projection").is_boolean()) {
      throw FileError(c.path, "field 'prefix_projection' is " +
                                  c.field("prefix_projection").dump() + ", expected true or false");
    }
    h["prefix_projection"] = c.field("prefix_projection").get<bool>() ? "true" : "false";
    h["encoder_hidden_size"] = std::to_string(c.integer("encoder_hidden_size"));
    const std::string init = c.config.contains("init_weights") ? c.text("init_weights", true) : "";
    h["init_weights"] = init.empty() ? "random" : init;
  } else {
    c.expect("token_dim", model.hidden_size, "hidden_size");
    c.expect("num_attention_heads", model.num_attention_heads, "num_attention_heads");
  }
  if (type == "PROMPT_TUNING") {
    const std::string init = c.text("prompt_tuning_init");
    const std::map<std::string, std::string> inits{
        {"RANDOM", "random"}, {"SAMPLE_VOCAB", "vocab"}, {"TEXT", "text"}};
    if (!inits.count(init)) {
      throw FileError(c.path, "field 'prompt_tuning_init' is '" + init +
                                  "' (expected RANDOM, SAMPLE_VOCAB or TEXT)");
    }
    h["init"] = inits.at(init);
    if (init == "TEXT") h["init_text"] = c.text("prompt_tuning_init_text");
  } else if (type == "P_TUNING") {
    const std::string encoder = c.text("encoder_reparameterization_type");
    if (encoder != "MLP" && encoder != "LSTM") {
      throw FileError(c.path, "field 'encoder_reparameterization_type' is '" + encoder +
                                  "' (expected MLP or LSTM)");
    }
    h["encoder"] = encoder == "LSTM" ? "lstm" : "mlp";
    h["encoder_hidden_size"] = std::to_string(c.integer("encoder_hidden_size"));
    h["encoder_num_layers"] = std::to_string(c.integer("encoder_num_layers"));
    if (!c.field("encoder_dropout").is_number()) {
      throw FileError(c.path, "field 'encoder_dropout' is " + c.field("encoder_dropout").dump() +
                                  ", expected a number");
    }
    const double dropout = c.field("encoder_dropout").get<double>();
    if (!(dropout >= 0 && dropout < 1))
      throw FileError(c.path, "field 'encoder_dropout' is " + c.field("encoder_dropout").dump() +
                                  ", expected a probability in [0, 1)");
    h["encoder_dropout"] = c10::str(dropout);
  }
  const at::Tensor& t = adapter.prompt_embeddings;
  if (!at::isFloatingType(t.scalar_type()))
    throw FileError(weights_path, std::string("tensor '") + kKey + "' has dtype " +
                                      c10::toString(t.scalar_type()) +
                                      ", expected floating point (F32, F16 or BF16)");
  if (t.numel() > 0 && !t.isfinite().all().item<bool>()) {
    const int64_t bad = t.isfinite().logical_not().sum().item<int64_t>();
    throw FileError(weights_path, std::string("tensor '") + kKey + "' holds NaN or Inf values (" +
                                      std::to_string(bad) + " of " + std::to_string(t.numel()) +
                                      "); expected finite numbers");
  }
  if (t.sizes() != at::IntArrayRef(shape)) {
    throw FileError(weights_path,
                    std::string("tensor '") + kKey + "' has shape " + c10::str(t.sizes()) +
                        ", expected " + c10::str(at::IntArrayRef(shape)) + " for " + type +
                        " with num_virtual_tokens " + std::to_string(n) + " on this model");
  }
  std::map<std::string, std::string> keys;
  for (const auto& [k, v] : h) keys[method + "." + k] = v;
  LmMethodContext own = context;
  own.load_only = true;
  std::shared_ptr<delta::Delta> delta;
  try {
    delta = make_lm_delta(method, core::config_from_strings(keys, c.path), own);
  } catch (const FileError&) {
    throw;
  } catch (const Error& e) {
    throw FileError(c.path, std::string("cannot build the delta: ") + e.what());
  }
  core::TensorMap tensors;
  const at::Tensor f = t.to(at::kFloat);
  if (type == "PREFIX_TUNING") {
    const at::Tensor v = f.view({n, model.num_hidden_layers, 2, model.kv_width()});
    for (int64_t l = 0; l < model.num_hidden_layers; ++l) {
      tensors[method + ".key." + std::to_string(l)] = v.select(1, l).select(1, 0);
      tensors[method + ".value." + std::to_string(l)] = v.select(1, l).select(1, 1);
    }
  } else {
    tensors[method + ".embeddings"] = f;
  }
  delta->load_named_tensors(tensors, weights_path);
  return delta;
}

void export_peft(const std::string& delta_path, const std::string& model_dir,
                 const std::string& out_dir) {
  if (model_dir.empty()) {
    // The delta file's record of its model's shapes (lm_delta_info) is all PEFT's config needs.
    const delta::DeltaFile file = delta::read_delta(delta_path);
    const nlohmann::json m = file.info.training.value("model", nlohmann::json());
    if (!m.is_object())
      throw FileError(delta_path,
                      "records no model shapes (made before they were recorded); pass --model "
                      "LLAMA_DIR, the folder it was trained on");
    models::llama::LlamaConfig config;
    try {
      config.hidden_size = m.at("hidden_size");
      config.num_hidden_layers = m.at("num_hidden_layers");
      config.num_attention_heads = m.at("num_attention_heads");
      config.num_key_value_heads = m.at("num_key_value_heads");
    } catch (const nlohmann::json::exception& e) {
      throw FileError(delta_path, std::string("training.model: ") + e.what());
    }
    if (config.num_attention_heads < 1 || config.num_key_value_heads < 1)
      throw FileError(delta_path, "training.model: head counts must be positive");
    write_peft(to_peft(file.info.method, file.info.hyperparameters, file.tensors, config,
                       m.value("folder", std::string())),
               out_dir);
    return;
  }
  LmMethodContext context;
  context.model = models::llama::load_llama(model_dir);
  const LoadedLmDelta loaded = load_lm_delta(delta_path, context);
  write_peft(to_peft(*loaded.delta, context.model->config(), model_dir), out_dir);
}

void import_peft(const std::string& dir, const std::string& model_dir,
                 const std::string& out_path) {
  LmMethodContext context;
  context.model = models::llama::load_llama(model_dir);
  const PeftAdapter adapter = read_peft(dir);
  const std::shared_ptr<delta::Delta> delta = from_peft(adapter, context, dir);
  delta::DeltaFileInfo info = lm_delta_info(*delta, context.model, model_dir);
  info.training["imported_from"] = {
      {"format", "peft"},
      {"path", dir},
      {"peft_version", adapter.config.value("peft_version", nlohmann::json())}};
  write_lm_delta(out_path, *delta, info);
}

}  // namespace vlprompt::prompts::lm
