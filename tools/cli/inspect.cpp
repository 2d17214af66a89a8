// vlprompt inspect: what is in a weights file (format, tensors, shapes, dtypes, architecture,
// fingerprint) or a delta file (method, hyper-parameters, backbone, classes, training summary,
// tensors, and with --model the vocabulary words nearest each learned context vector), as text
// or JSON.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "models/clip/load_clip.h"
#include "models/weights/weights.h"
#include "prompts/delta_words.h"
#include "prompts/registry.h"
#include "src/core/error.h"
#include "src/core/hash.h"
#include "src/core/safetensors.h"
#include "src/delta/delta_file.h"
#include "src/text/clip_tokenizer.h"
#include "tools/cli/command.h"
#include "tools/pipeline/cli_checks.h"
#include "tools/pipeline/lm_bundle.h"
#include "tools/pipeline/model_loading.h"
#include "tools/pipeline/text_delta.h"

namespace vlprompt::cli {
namespace {

nlohmann::json config_json(const models::ClipConfig& c) {
  return {{"embed_dim", c.embed_dim},
          {"vision",
           {{"type", c.vision.type},
            {"image_resolution", c.vision.image_resolution},
            {"width", c.vision.width},
            {"layers", c.vision.type == "vit" ? nlohmann::json(c.vision.layers)
                                              : nlohmann::json(c.vision.resnet_layers)},
            {"patch_size", c.vision.patch_size},
            {"heads", c.vision.heads}}},
          {"text",
           {{"context_length", c.text.context_length},
            {"vocab_size", c.text.vocab_size},
            {"width", c.text.width},
            {"heads", c.text.heads},
            {"layers", c.text.layers}}}};
}

int run_inspect_weights(const std::string& path, bool json, int64_t max_rows) {
  const models::weights::LoadedWeights w = models::weights::read_weights(path);
  int64_t params = 0;
  nlohmann::json tensors = nlohmann::json::object();
  for (const auto& [name, t] : w.tensors) {
    params += t.numel();
    tensors[name] = {{"shape", t.sizes().vec()},
                     {"dtype", std::string(c10::toString(t.scalar_type()))}};
  }
  const models::ClipConfig cfg = w.config ? *w.config : models::weights::infer_config(w.tensors);
  nlohmann::json out{{"file", path},
                     {"kind", "weights"},
                     {"format", models::weights::format_name(w.format)},
                     {"tensors", w.tensors.size()},
                     {"parameters", params},
                     {"architecture", config_json(cfg)},
                     {"architecture_from", w.config ? "file" : "inferred from tensor shapes"},
                     {"fingerprint", core::fingerprint(w.tensors)},
                     {"vocab", w.vocab}};
  if (json) {
    out["tensor_list"] = tensors;
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << path << "\n  format: " << out["format"].get<std::string>()
            << "\n  tensors: " << w.tensors.size() << " (" << params
            << " parameters, loaded as fp32)"
            << "\n  fingerprint: " << out["fingerprint"].get<std::string>() << "\n  architecture ("
            << out["architecture_from"].get<std::string>() << "): " << out["architecture"].dump()
            << "\n";
  int64_t shown = 0;
  for (const auto& [name, info] : tensors.items()) {
    if (shown++ >= max_rows) {
      std::cout << "  ... " << (tensors.size() - max_rows) << " more (--all to list them)\n";
      break;
    }
    std::printf("  %-60s %-18s %s\n", name.c_str(), info["shape"].dump().c_str(),
                info["dtype"].get<std::string>().c_str());
  }
  return 0;
}

struct InspectArgs {
  std::string path;
  bool json = false;
  bool all = false;
  pipeline::ModelArgs model;  // optional: the token embeddings for nearest words
  int64_t top_k = 3;
};

// A delta file is a safetensors file whose metadata says so; anything else goes to the weights
// reader, which reports an unreadable file in its own words.
bool is_delta_file(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) return false;
  if (std::filesystem::path(path).extension() != ".safetensors") return false;
  core::Metadata metadata;
  try {
    core::read_safetensors_header(path, &metadata);
  } catch (const Error&) {
    return false;
  }
  auto it = metadata.find("format");
  return it != metadata.end() && it->second == delta::kDeltaFormat;
}

// Text-LM deltas: every virtual token ([n, hidden] tensors: Prompt Tuning, P-Tuning collapsed)
// against the LLaMA model's input embeddings, read back through its sentencepiece vocabulary.
// Prefix Tuning's key/value prefixes live in no token space and are not listed.
nlohmann::json nearest_virtual_tokens_json(const delta::DeltaFile& file, const InspectArgs& a) {
  const pipeline::LmBundle lm = pipeline::load_lm_bundle(a.model.model);
  // Rebuilt on the model: checks the fingerprint and every tensor against the metadata.
  pipeline::load_text_delta(a.path, lm);
  at::NoGradGuard no_grad;
  const at::Tensor table = lm.model->model->embed_tokens->weight;
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, t] : file.tensors) {
    if (t.dim() != 2 || t.size(1) != table.size(1)) continue;
    const auto matches = prompts::nearest_tokens(t, table, a.top_k);
    nlohmann::json rows = nlohmann::json::array();
    for (size_t i = 0; i < matches.size(); ++i) {
      nlohmann::json row{{"position", i}};
      for (const auto& w : matches[i]) {
        row["words"].push_back({{"word", lm.tokenizer->decode({w.id})},
                                {"token", lm.tokenizer->piece(w.id)},
                                {"id", w.id},
                                {"distance", w.distance}});
      }
      rows.push_back(row);
    }
    out[name] = rows;
  }
  return out;
}

// For every context tensor: per class (CSC) and position, the top-k nearest vocabulary tokens.
nlohmann::json nearest_words_json(const delta::DeltaFile& file, const InspectArgs& a) {
  if (prompts::is_lm_method(file.info.method)) return nearest_virtual_tokens_json(file, a);
  pipeline::ModelBundle m = pipeline::load_model_bundle(a.model);
  delta::check_backbone(file.info, m.clip.model->fingerprint(), m.clip.model->config().name);
  // The tensors against the method the metadata describes (n_ctx, csc, classes, ...): rebuilding
  // it on the backbone checks every shape, and names the file and tensor when one does not fit.
  prompts::MethodContext context;
  context.clip = m.clip.model;
  context.tokenizer = m.tokenizer;
  prompts::method_from_delta(a.path, context);
  at::NoGradGuard no_grad;
  const int64_t vocab = m.clip.model->config().text.vocab_size;
  const at::Tensor table = m.clip.model->embed_tokens(at::arange(vocab).unsqueeze(0)).squeeze(0);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, t] : file.tensors) {
    if (!prompts::is_text_context(name, t, table.size(1))) continue;
    const int64_t n_ctx = t.size(-2);
    const auto matches =
        prompts::nearest_words(t.reshape({-1, t.size(-1)}), table, *m.tokenizer, a.top_k);
    nlohmann::json rows = nlohmann::json::array();
    for (size_t i = 0; i < matches.size(); ++i) {
      nlohmann::json row{{"position", static_cast<int64_t>(i) % n_ctx}};
      if (t.dim() == 3) {
        const size_t c = i / static_cast<size_t>(n_ctx);
        row["class"] = c;
        if (c < file.info.classnames.size()) row["classname"] = file.info.classnames[c];
      }
      for (const auto& w : matches[i]) {
        row["words"].push_back(
            {{"word", w.word}, {"token", w.token}, {"id", w.id}, {"distance", w.distance}});
      }
      rows.push_back(row);
    }
    out[name] = rows;
  }
  return out;
}

std::string joined(const std::vector<std::string>& items, size_t max_items) {
  std::string s;
  for (size_t i = 0; i < items.size() && i < max_items; ++i) s += (i ? ", " : "") + items[i];
  if (items.size() > max_items) {
    s += ", ... (" + std::to_string(items.size() - max_items) + " more, --all to list them)";
  }
  return s;
}

void print_nearest_words(const nlohmann::json& nearest, const InspectArgs& a, int64_t max_rows) {
  std::cout << "  nearest vocabulary words (Euclidean distance to the token embeddings, top "
            << a.top_k << "):\n";
  for (const auto& [name, rows] : nearest.items()) {
    int64_t last_class = -1, shown_classes = 0;
    for (const auto& row : rows) {
      if (row.contains("class") && row["class"].get<int64_t>() != last_class) {
        last_class = row["class"].get<int64_t>();
        if (shown_classes++ >= max_rows) {
          std::cout << "    ... more classes (--all to list them)\n";
          break;
        }
        std::cout << "    " << name << " class " << last_class << " ("
                  << row.value("classname", std::string("?")) << "):\n";
      } else if (!row.contains("class") && row["position"].get<int64_t>() == 0) {
        std::cout << "    " << name << " (shared by every class):\n";
      }
      std::printf("      ctx %2lld:", static_cast<long long>(row["position"].get<int64_t>()));
      for (const auto& w : row["words"]) {
        std::printf("  %s (%.3f)", w["word"].get<std::string>().c_str(),
                    w["distance"].get<double>());
      }
      std::printf("\n");
    }
  }
}

// Without --model: the method rebuilt on a random CLIP of the backbone's architecture (its config
// by name, models/configs), which checks every tensor's shape against the metadata (n_ctx, csc,
// classes). FileError naming the file when one does not fit.
std::string check_shapes_by_config(const delta::DeltaFile& file, const std::string& path) {
  // A random LLaMA of a real size would cost its full memory: text deltas need --model.
  if (prompts::is_lm_method(file.info.method))
    return "not checked: a text-LM delta (pass --model LLAMA_DIR to check them)";
  models::ClipConfig config;
  try {
    config = models::load_config(file.info.backbone);
  } catch (const Error&) {
    return "not checked: backbone '" + file.info.backbone +
           "' is no config name (pass --model to check them)";
  }
  prompts::MethodContext context;
  context.clip = models::init_clip(config, 0);
  context.tokenizer = std::make_shared<const text::ClipTokenizer>(
      text::ClipTokenizer::from_file(text::bundled_vocab()));
  prompts::method_from_delta_unchecked(path, context);
  return "fit the metadata's hyperparameters on the " + file.info.backbone + " architecture";
}

int run_inspect_delta(const InspectArgs& a) {
  const int64_t max_rows = a.all ? INT64_MAX : 20;
  const delta::DeltaFile file = delta::read_delta(a.path);
  const delta::DeltaFileInfo& info = file.info;
  int64_t params = 0;
  nlohmann::json tensors = nlohmann::json::object();
  for (const auto& [name, t] : file.tensors) {
    params += t.numel();
    tensors[name] = {{"shape", t.sizes().vec()},
                     {"dtype", std::string(c10::toString(t.scalar_type()))}};
  }
  nlohmann::json out{{"file", a.path},
                     {"kind", "delta"},
                     {"format", delta::kDeltaFormat},
                     {"format_version", delta::kDeltaFormatVersion}};
  out.update(delta::info_json(info));
  out["parameters"] = params;
  out["tensor_list"] = tensors;
  if (!a.model.model.empty()) {
    out["nearest_words"] = nearest_words_json(file, a);  // checks the shapes on that model
    out["tensor_shapes"] = "fit the metadata's hyperparameters on the given model";
  } else {
    out["tensor_shapes"] = check_shapes_by_config(file, a.path);
  }
  if (a.json) {
    // A single byte-level token can be part of a UTF-8 character: replace, do not throw.
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::cout << a.path << "\n  kind: delta file (" << delta::kDeltaFormat << " v"
            << delta::kDeltaFormatVersion << ")\n  method: " << info.method
            << "\n  hyperparameters:";
  for (const auto& [k, v] : info.hyperparameters) std::cout << " " << k << "=" << v;
  std::cout << "\n  backbone: " << info.backbone << " (fingerprint " << info.backbone_fingerprint
            << ")\n  tokenizer: " << info.tokenizer << "\n  classes (" << info.classnames.size()
            << "): " << joined(info.classnames, static_cast<size_t>(max_rows)) << "\n  template: \""
            << info.prompt_template << "\"\n  training: " << info.training.dump() << "\n  tensors ("
            << params << " parameters):\n";
  for (const auto& [name, t] : tensors.items()) {
    std::printf("    %-40s %-18s %s\n", name.c_str(), t["shape"].dump().c_str(),
                t["dtype"].get<std::string>().c_str());
  }
  std::cout << "  tensor shapes: " << out["tensor_shapes"].get<std::string>() << "\n";
  if (out.contains("nearest_words")) {
    print_nearest_words(out["nearest_words"], a, max_rows);
  } else {
    std::cout << "  nearest words: pass --model (the backbone it was trained on) to list the "
                 "vocabulary words nearest each learned context vector\n";
  }
  return 0;
}

Runner setup_inspect(CLI::App& app) {
  auto a = std::make_shared<InspectArgs>();
  app.add_option("file", a->path, "weights file (.pt, .safetensors), HF folder, or delta file")
      ->required();
  app.add_flag("--json", a->json, "print JSON");
  app.add_flag("--all", a->all, "list every tensor (every class of a delta)");
  pipeline::add_model_options(app, a->model);
  app.get_option("--model")->required(false)->description(
      "delta files: the backbone (a CLIP model, or a text delta's LLaMA folder), whose token "
      "embeddings give the nearest words");
  app.add_option("--top-k", a->top_k, "delta files: nearest words per context vector")
      ->default_val(3)
      ->check(pipeline::at_least(1));
  app.footer(
      "Example:\n  vlprompt inspect ViT-B-16.pt\n"
      "  vlprompt inspect runs/coop-16-1/delta.safetensors --model ViT-B-16.pt --top-k 5");
  return [a] {
    if (is_delta_file(a->path)) return run_inspect_delta(*a);
    try {
      return run_inspect_weights(a->path, a->json, a->all ? INT64_MAX : 20);
    } catch (const Error& e) {
      if (std::filesystem::path(a->path).extension() != ".safetensors") throw;
      // A .safetensors file is a delta or weights; say both were tried, not only the second.
      throw FileError(a->path,
                      "neither a vlprompt delta (its __metadata__ has no format: vlprompt-delta) "
                      "nor CLIP weights (" +
                          std::string(e.what()) + ")");
    }
  };
}

}  // namespace

VLPROMPT_COMMAND(inspect, "summarize a weights file or a delta file", setup_inspect);

}  // namespace vlprompt::cli
