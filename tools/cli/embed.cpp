// vlprompt embed: encode_image / encode_text features as a float32 .npy [N, D].
#include <iostream>

#include "clip_data/feature_cache.h"
#include "pipeline/model_loading.h"
#include "src/core/error.h"
#include "src/core/npy.h"
#include "tools/cli/cli_checks.h"
#include "tools/cli/command.h"
#include "tools/cli/model_options.h"

namespace vlprompt::cli {
namespace {

struct EmbedArgs {
  pipeline::ModelArgs model;
  std::vector<std::string> images, texts;
  std::string out;
  bool normalize = false;
  int64_t batch_size = 64;
};

int run_embed(const EmbedArgs& a) {
  if (a.images.empty() == a.texts.empty()) throw Error("embed: give either --images or --texts");
  at::NoGradGuard no_grad;
  at::Tensor feats;
  if (!a.images.empty()) {
    models::LoadedClip clip = pipeline::load_model_only(a.model);
    const int64_t res = clip.model->config().vision.image_resolution;
    std::vector<at::Tensor> parts;
    for (size_t s = 0; s < a.images.size(); s += a.batch_size) {
      std::vector<datasets::ImageRecord> batch;
      for (size_t i = s; i < std::min(a.images.size(), s + a.batch_size); ++i) {
        batch.push_back({a.images[i], {}, 0, ""});
      }
      parts.push_back(clip.model->encode_image(
          clip_data::load_clip_images(batch, res, false, nullptr, nullptr)));
    }
    feats = at::cat(parts);
  } else {
    pipeline::ModelBundle m = pipeline::load_model_bundle(a.model);
    const at::Tensor ids =
        m.tokenizer->tokenize(a.texts, m.clip.model->config().text.context_length);
    std::vector<at::Tensor> parts;
    for (int64_t s = 0; s < ids.size(0); s += a.batch_size) {
      parts.push_back(m.clip.model->encode_text(ids.slice(0, s, s + a.batch_size)));
    }
    feats = at::cat(parts);
  }
  if (a.normalize) feats = feats / feats.norm(2, -1, true);
  core::write_npy(a.out, feats.to(at::kFloat));
  std::cout << "wrote " << a.out << " float32 [" << feats.size(0) << ", " << feats.size(1) << "]\n";
  return 0;
}

Runner setup_embed(CLI::App& app) {
  auto a = std::make_shared<EmbedArgs>();
  add_model_options(app, a->model);
  app.add_option("--images", a->images, "image files");
  app.add_option("--texts", a->texts, "texts");
  app.add_option("--out", a->out, "output .npy")->required();
  app.add_flag("--normalize", a->normalize, "L2-normalize each feature (default: raw, as CLIP)");
  app.add_option("--batch-size", a->batch_size)->default_val(64)->check(at_least(1));
  app.footer(
      "Example:\n  vlprompt embed --model ViT-B-16.pt --texts \"a photo of a cat.\" --out t.npy");
  return [a] { return run_embed(*a); };
}

}  // namespace

VLPROMPT_COMMAND(embed, "image or text features as .npy", setup_embed);

}  // namespace vlprompt::cli
