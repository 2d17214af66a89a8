// vlprompt preprocess: the exact float32 [N, 3, R, R] tensor the model's image tower sees.
#include <iostream>

#include "clip_data/feature_cache.h"
#include "pipeline/model_loading.h"
#include "src/core/npy.h"
#include "tools/cli/command.h"
#include "tools/cli/model_options.h"

namespace vlprompt::cli {
namespace {

struct PreprocessArgs {
  pipeline::ModelArgs model;
  std::vector<std::string> images;
  std::string out;
};

int run_preprocess(const PreprocessArgs& a) {
  const models::LoadedClip clip = pipeline::load_model_only(a.model);
  std::vector<datasets::ImageRecord> items;
  for (const auto& p : a.images) items.push_back({p, {}, 0, ""});
  const at::Tensor px = clip_data::load_clip_images(
      items, clip.model->config().vision.image_resolution, false, nullptr, nullptr);
  core::write_npy(a.out, px);
  std::cout << "wrote " << a.out << " float32 " << px.sizes() << "\n";
  return 0;
}

Runner setup_preprocess(CLI::App& app) {
  auto a = std::make_shared<PreprocessArgs>();
  add_model_options(app, a->model);
  app.add_option("--out", a->out, "output .npy")->required();
  app.add_option("images", a->images, "image files")->required();
  app.footer("Example:\n  vlprompt preprocess --model ViT-B-16 --out px.npy cat.jpg dog.png");
  return [a] { return run_preprocess(*a); };
}

}  // namespace

VLPROMPT_COMMAND(preprocess, "write the preprocessed pixels a model sees (.npy)", setup_preprocess);

}  // namespace vlprompt::cli
