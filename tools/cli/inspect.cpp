// vlprompt inspect: what is in a weights file (format, tensors, shapes, dtypes, architecture,
// fingerprint), as text or JSON.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "models/weights/weights.h"
#include "src/core/hash.h"
#include "tools/cli/command.h"

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

int run_inspect(const std::string& path, bool json, int64_t max_rows) {
  const models::weights::LoadedWeights w = models::weights::read_weights(path);
  int64_t params = 0;
  nlohmann::json tensors = nlohmann::json::object();
  for (const auto& [name, t] : w.tensors) {
    params += t.numel();
    tensors[name] = {{"shape", t.sizes().vec()}, {"dtype", std::string(c10::toString(t.scalar_type()))}};
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
            << "\n  tensors: " << w.tensors.size() << " (" << params << " parameters, loaded as fp32)"
            << "\n  fingerprint: " << out["fingerprint"].get<std::string>()
            << "\n  architecture (" << out["architecture_from"].get<std::string>()
            << "): " << out["architecture"].dump() << "\n";
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

Runner setup_inspect(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto all = std::make_shared<bool>(false);
  app.add_option("file", *path, "weights file (.pt, .safetensors) or HF folder")->required();
  app.add_flag("--json", *json, "print JSON");
  app.add_flag("--all", *all, "list every tensor");
  app.footer("Example:\n  vlprompt inspect ViT-B-16.pt");
  return [=] { return run_inspect(*path, *json, *all ? INT64_MAX : 20); };
}

}  // namespace

VLPROMPT_COMMAND(inspect, "summarize a weights file", setup_inspect);

}  // namespace vlprompt::cli
