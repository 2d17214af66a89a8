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
#include "pipeline/model_kind.h"
#include "pipeline/model_loading.h"
#include "prompts/registry.h"
#include "src/core/error.h"
#include "src/core/hash.h"
#include "src/core/safetensors.h"
#include "src/delta/delta_file.h"
#include "tools/cli/cli_checks.h"
#include "tools/cli/command.h"
#include "tools/cli/model_options.h"

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
  // A delta file never carries the frozen backbone; for Partial-k and full fine-tuning the
  // trained tensors are copies of the backbone's own, which replace them.
  bool copies = false;
  for (const auto& m : prompts::method_members(info.method)) {
    copies = copies || m == "partial" || m == "finetune";
  }
  out["holds"] = "only the tensors the run trained (" + std::to_string(params) +
                 " parameters), no frozen backbone tensor" +
                 (copies ? "; partial/finetune tensors are trained copies of the backbone's own, "
                           "which replace them when the delta is applied"
                         : "");
  const pipeline::ModelKind& kind = pipeline::model_kind_of(file);
  if (!a.model.model.empty()) {
    // Rebuilt on that model first: checks the fingerprint and every shape.
    out["nearest_words"] = kind.nearest_words(file, a.path, a.model, a.top_k);
    out["tensor_shapes"] = "fit the metadata's hyperparameters on the given model";
  } else {
    out["tensor_shapes"] = kind.check_shapes(file, a.path);
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
            << info.prompt_template << "\"\n  training: " << info.training.dump()
            << "\n  holds: " << out["holds"].get<std::string>() << "\n  tensors (" << params
            << " parameters):\n";
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
  add_model_options(app, a->model);
  app.get_option("--model")->required(false)->description(
      "delta files: the backbone (a CLIP model, or a text delta's LLaMA folder), whose token "
      "embeddings give the nearest words");
  app.add_option("--top-k", a->top_k, "delta files: nearest words per context vector")
      ->default_val(3)
      ->check(at_least(1));
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
