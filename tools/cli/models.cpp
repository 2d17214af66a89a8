// vlprompt models: the architectures in models/configs (the folder is the registry) and the
// weights and language models that ship in models/pretrained, with what each says of how it was
// made.
#include <cstdio>

#include "models/clip/load_clip.h"
#include "models/weights/weights.h"
#include "pipeline/lm_bundle.h"
#include "tools/cli/command.h"

namespace vlprompt::cli {
namespace {

Runner setup_models(CLI::App& app) {
  app.footer("Example:\n  vlprompt models");
  return [] {
    std::printf("%-12s %-16s %6s %6s %6s %6s\n", "name", "image tower", "res", "width", "layers",
                "embed");
    for (const auto& name : models::list_configs()) {
      const models::ClipConfig c = models::load_config(name);
      const int64_t layers = c.vision.type == "vit" ? c.vision.layers : [&] {
        int64_t s = 0;
        for (int64_t l : c.vision.resnet_layers) s += l;
        return s;
      }();
      std::printf("%-12s %-16s %6lld %6lld %6lld %6lld\n", name.c_str(), c.vision.type.c_str(),
                  static_cast<long long>(c.vision.image_resolution),
                  static_cast<long long>(c.vision.width), static_cast<long long>(layers),
                  static_cast<long long>(c.embed_dim));
    }
    std::printf("\nshipped weights (--model NAME; %s):\n", models::pretrained_dir().c_str());
    for (const auto& name : models::list_pretrained()) {
      const std::string path = models::pretrained_dir() + "/" + name + ".safetensors";
      const auto loaded = models::weights::read_weights(path);
      const auto& p = loaded.provenance;
      std::printf("%-16s %-8s %s\n", name.c_str(),
                  loaded.config ? loaded.config->name.c_str() : "?",
                  p.how_made.empty() ? "(provenance not recorded)" : p.how_made.c_str());
    }
    std::printf("\nshipped language models (--model NAME with the text-LM methods and `lm`):\n");
    for (const auto& name : pipeline::shipped_lms()) {
      const pipeline::LmBundle lm = pipeline::load_lm_bundle(name);
      const auto& c = lm.model->config();
      const auto& p = lm.provenance;
      std::printf("%-16s %-8s %lld layers, width %lld, vocabulary %lld: %s\n", name.c_str(),
                  "llama", static_cast<long long>(c.num_hidden_layers),
                  static_cast<long long>(c.hidden_size), static_cast<long long>(c.vocab_size),
                  p.how_made.empty() ? "(provenance not recorded)" : p.how_made.c_str());
    }
    return 0;
  };
}

}  // namespace

VLPROMPT_COMMAND(models, "list the model architectures and the shipped weights", setup_models);

}  // namespace vlprompt::cli
