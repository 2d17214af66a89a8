#include "prompts/lm/peft_tuners.h"

#include <regex>
#include <set>

#include "prompts/lm/peft_format.h"
#include "src/core/error.h"
#include "src/nn/delta_sites.h"

namespace vlprompt::prompts::lm {
namespace {

constexpr const char* kPrefix = "base_model.model.model.layers.";

// The projection's parent module in HF's LLaMA ("self_attn" or "mlp").
std::string parent_of(const std::string& proj) {
  const auto site = nn::linear_site_from_name(proj, nn::SiteNaming::kLlama);
  if (!site) throw Error("'" + proj + "' is not a LLaMA projection");
  return *site == nn::LinearSite::kGate || *site == nn::LinearSite::kUp ||
                 *site == nn::LinearSite::kDown
             ? "mlp"
             : "self_attn";
}

std::string peft_key(int64_t layer, const std::string& proj, const std::string& param) {
  return kPrefix + std::to_string(layer) + "." + parent_of(proj) + "." + proj + "." + param +
         ".weight";
}

// "lora.text.layers.3.q_proj.lora_A" -> {3, "q_proj", "lora_A"}.
struct DeltaName {
  int64_t layer = -1;
  std::string proj, param;
};
DeltaName parse_delta_name(const std::string& name, const std::string& method) {
  static const std::regex pattern(R"(^(\w+)\.text\.layers\.(\d+)\.(\w+)\.(\w+)$)");
  std::smatch m;
  if (!std::regex_match(name, m, pattern) || m[1] != method) {
    throw Error("tensor '" + name + "' is not a " + method + " tensor of a LLaMA layer");
  }
  return {std::stoll(m[2]), m[3], m[4]};
}

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

std::string join_layers(const std::set<int64_t>& layers) {
  std::string out;
  for (int64_t l : layers) out += (out.empty() ? "" : ",") + std::to_string(l);
  return out;
}

nlohmann::json sorted_list(const std::set<std::string>& items) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& i : items) out.push_back(i);
  return out;
}

// The fields LoraConfig and IA3Config share (PeftConfigMixin, PeftConfig, the tuner's own).
nlohmann::json common(const std::string& type, const std::string& base) {
  return {{"auto_mapping", nullptr},
          {"base_model_name_or_path", base.empty() ? nlohmann::json() : nlohmann::json(base)},
          {"fan_in_fan_out", false},
          {"inference_mode", true},
          {"modules_to_save", nullptr},
          {"peft_type", type},
          {"peft_version", kPeftVersion},
          {"revision", nullptr},
          {"task_type", "CAUSAL_LM"}};
}

}  // namespace

bool is_peft_tuner_type(const std::string& peft_type) {
  return peft_type == "LORA" || peft_type == "IA3";
}
bool is_peft_tuner_method(const std::string& method) { return method == "lora" || method == "ia3"; }

PeftTunerAdapter to_peft_tuner(const std::string& method,
                               const std::map<std::string, std::string>& h,
                               const core::TensorMap& tensors,
                               const models::llama::LlamaConfig& model, const std::string& base) {
  if (!is_peft_tuner_method(method)) {
    throw Error("PEFT export: '" + method + "' has no PEFT tuner type (LORA: lora, IA3: ia3)");
  }
  auto get = [&](const std::string& key) {
    auto it = h.find(key);
    if (it == h.end()) throw Error(method + ": hyper-parameter '" + key + "' is missing");
    return it->second;
  };
  PeftTunerAdapter out;
  std::set<std::string> targets;
  std::set<int64_t> layers;
  for (const auto& [name, t] : tensors) {
    const DeltaName d = parse_delta_name(name, method);
    if (d.layer >= model.num_hidden_layers) {
      throw Error("tensor '" + name + "' is at layer " + std::to_string(d.layer) +
                  " but the model has " + std::to_string(model.num_hidden_layers));
    }
    targets.insert(d.proj);
    layers.insert(d.layer);
    at::Tensor value = t.detach().to(at::kFloat).contiguous();
    if (d.param == "ia3_l") {
      // PEFT's shapes: [1, in] on a feed-forward module, [out, 1] elsewhere.
      const bool ff =
          ("," + get("feedforward_modules") + ",").find("," + d.proj + ",") != std::string::npos;
      value = ff ? value.view({1, -1}) : value.view({-1, 1});
    }
    out.tensors[peft_key(d.layer, d.proj, d.param)] = value;
  }
  const bool all_layers = static_cast<int64_t>(layers.size()) == model.num_hidden_layers;
  nlohmann::json config = common(method == "lora" ? "LORA" : "IA3", base);
  config["target_modules"] = sorted_list(targets);
  config["layers_to_transform"] =
      all_layers ? nlohmann::json()
                 : nlohmann::json(std::vector<int64_t>(layers.begin(), layers.end()));
  config["layers_pattern"] = nullptr;
  if (method == "lora") {
    config["r"] = std::stoll(get("r"));
    // An integral alpha as an integer, as LoraConfig's default (8) is written.
    const double alpha = std::stod(get("alpha"));
    config["lora_alpha"] = alpha == static_cast<double>(static_cast<int64_t>(alpha))
                               ? nlohmann::json(static_cast<int64_t>(alpha))
                               : nlohmann::json(alpha);
    config["lora_dropout"] = std::stod(get("dropout"));
    config["use_rslora"] = get("use_rslora") == "true";
    config["bias"] = "none";
    config["use_dora"] = false;
    config["init_lora_weights"] = true;
    config["rank_pattern"] = nlohmann::json::object();
    config["alpha_pattern"] = nlohmann::json::object();
  } else {
    std::set<std::string> ff;
    for (const auto& name : targets) {
      if (("," + get("feedforward_modules") + ",").find("," + name + ",") != std::string::npos)
        ff.insert(name);
    }
    config["feedforward_modules"] = sorted_list(ff);
    config["init_ia3_weights"] = true;
  }
  out.config = std::move(config);
  return out;
}

std::shared_ptr<delta::Delta> from_peft_tuner(const nlohmann::json& c,
                                              const core::TensorMap& tensors,
                                              const LmMethodContext& context,
                                              const std::string& config_path,
                                              const std::string& weights_path) {
  const auto& model = context.model->config();
  const std::string type = c.at("peft_type").get<std::string>();
  const std::string method = type == "LORA" ? "lora" : "ia3";
  auto refuse_if = [&](const char* key, bool bad, const std::string& why) {
    if (c.contains(key) && bad) {
      throw FileError(config_path,
                      "field '" + std::string(key) + "' is " + c.at(key).dump() + ": " + why);
    }
  };
  auto non_empty = [&](const char* key) {
    return c.contains(key) && !c.at(key).is_null() && !c.at(key).empty();
  };
  refuse_if("use_dora", c.value("use_dora", false) == true,
            "DoRA's magnitude vectors are not applied here");
  refuse_if("rank_pattern", non_empty("rank_pattern"), "per-module ranks are not read");
  refuse_if("alpha_pattern", non_empty("alpha_pattern"), "per-module alphas are not read");
  refuse_if("bias", c.contains("bias") && c.at("bias") != "none",
            "trained biases (bias != \"none\") are not read");
  refuse_if("fan_in_fan_out", c.value("fan_in_fan_out", false) == true,
            "LLaMA's projections are not Conv1D (fan_in_fan_out is for GPT-2)");
  refuse_if("modules_to_save", non_empty("modules_to_save"),
            "fully trained extra modules are not read");
  refuse_if(
      "task_type",
      c.contains("task_type") && !c.at("task_type").is_null() && c.at("task_type") != "CAUSAL_LM",
      "a LLaMA-family adapter here is CAUSAL_LM");

  // The tensors say what is adapted where.
  static const std::regex pattern(
      R"(^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.(lora_A|lora_B|ia3_l)(\.\w+)?\.weight$)");
  std::set<std::string> targets;
  std::set<int64_t> layers;
  core::TensorMap named;
  int64_t rank = -1;
  for (const auto& [key, t] : tensors) {
    std::smatch m;
    if (!std::regex_match(key, m, pattern)) {
      throw FileError(weights_path, "tensor '" + key + "' is not a " + type +
                                        " tensor of a LLaMA layer's projection");
    }
    const int64_t layer = std::stoll(m[1]);
    const std::string proj = m[3], param = m[4];
    if (layer >= model.num_hidden_layers) {
      throw FileError(weights_path, "tensor '" + key + "' is at layer " + std::to_string(layer) +
                                        " but the model has " +
                                        std::to_string(model.num_hidden_layers));
    }
    const auto site = nn::linear_site_from_name(proj, nn::SiteNaming::kLlama);
    if (!site || parent_of(proj) != std::string(m[2])) {
      throw FileError(weights_path, "tensor '" + key + "': '" + std::string(m[2]) + "." + proj +
                                        "' is not a projection of a LLaMA layer");
    }
    if ((type == "LORA") != (param != "ia3_l")) {
      throw FileError(weights_path,
                      "tensor '" + key + "' does not belong to a " + type + " adapter");
    }
    if (param == "lora_A") {
      if (rank >= 0 && t.size(0) != rank) {
        throw FileError(weights_path, "tensor '" + key + "' has rank " + std::to_string(t.size(0)) +
                                          ", others " + std::to_string(rank) +
                                          " (rank_pattern is not read)");
      }
      rank = t.dim() == 2 ? t.size(0) : -1;
    }
    targets.insert(proj);
    layers.insert(layer);
    at::Tensor value = t;
    if (param == "ia3_l") value = t.reshape({-1});
    named[method + ".text.layers." + std::to_string(layer) + "." + proj + "." + param] = value;
  }
  if (named.empty()) throw FileError(weights_path, "holds no " + type + " tensor");
  std::map<std::string, std::string> keys{
      {method + ".target_modules", join(targets)},
      {method + ".layers_to_transform",
       static_cast<int64_t>(layers.size()) == model.num_hidden_layers ? "" : join_layers(layers)}};
  try {
    if (method == "lora") {
      const int64_t r = c.at("r").get<int64_t>();
      if (rank >= 0 && r != rank) {
        throw FileError(config_path, "field 'r' is " + std::to_string(r) +
                                         " but the tensors have rank " + std::to_string(rank));
      }
      keys["lora.r"] = std::to_string(r);
      keys["lora.alpha"] = c.at("lora_alpha").dump();
      keys["lora.dropout"] = c.contains("lora_dropout") ? c.at("lora_dropout").dump() : "0";
      keys["lora.use_rslora"] = c.value("use_rslora", false) ? "true" : "false";
    } else {
      // Feed-forward modules this adapter has no tensor for are left out (PEFT lists names, the
      // tensors say which exist).
      std::set<std::string> ff;
      if (c.contains("feedforward_modules") && c.at("feedforward_modules").is_array()) {
        for (const auto& n : c.at("feedforward_modules")) {
          if (targets.count(n.get<std::string>())) ff.insert(n.get<std::string>());
        }
      }
      keys["ia3.feedforward_modules"] = join(ff);
    }
  } catch (const nlohmann::json::exception& e) {
    throw FileError(config_path, std::string("a field has the wrong type: ") + e.what());
  }
  std::shared_ptr<delta::Delta> delta;
  try {
    LmMethodContext own = context;
    own.load_only = true;
    delta = make_lm_delta(method, core::config_from_strings(keys, config_path), own);
  } catch (const FileError&) {
    throw;
  } catch (const Error& e) {
    throw FileError(config_path, e.what());
  }
  delta->load_named_tensors(named, weights_path);
  return delta;
}

}  // namespace vlprompt::prompts::lm
