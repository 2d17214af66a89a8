// vlprompt init: a CLIP with deterministic random weights from a config, saved as vlprompt
// .safetensors. Used by the demo and tests where no pretrained weights exist; never a stand-in
// for real CLIP numbers.
#include <iostream>

#include "models/clip/load_clip.h"
#include "models/weights/weights.h"
#include "tools/cli/command.h"

namespace vlprompt::cli {
namespace {

struct InitArgs {
  std::string config, out;
  uint64_t seed = 0;
};

int run_init(const InitArgs& a) {
  const models::ClipConfig cfg = models::load_config(a.config);
  models::Clip model = models::init_clip(cfg, a.seed);
  const models::weights::Provenance provenance{
      false, "vlprompt init --config " + a.config + " --seed " + std::to_string(a.seed) +
                 " (random initialisation, not pretrained)"};
  models::weights::write_weights(a.out, models::weights::Format::kVlprompt, model->weights(), cfg,
                                 "", provenance);
  std::cout << "wrote " << a.out << ": config " << cfg.name << ", seed " << a.seed
            << ", fingerprint " << model->fingerprint()
            << " (random initialisation, NOT pretrained weights)\n";
  return 0;
}

Runner setup_init(CLI::App& app) {
  auto a = std::make_shared<InitArgs>();
  app.add_option("--config", a->config, "models/configs name or a .yaml path")->required();
  app.add_option("--seed", a->seed)->default_val(0);
  app.add_option("--out", a->out, "output .safetensors")->required();
  app.footer("Example:\n  vlprompt init --config tiny --seed 0 --out tiny.safetensors");
  return [a] { return run_init(*a); };
}

}  // namespace

VLPROMPT_COMMAND(init, "a randomly initialised CLIP from a config (for demos and tests)",
                 setup_init);

}  // namespace vlprompt::cli
