// vlprompt predict: top-k labels and probabilities for image files (or preprocessed pixels), from
// class names given on the command line or a dataset's class list: zero-shot with the dataset's
// (or a given) template, or through a trained delta (--delta), whatever its towers.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "clip_data/feature_cache.h"
#include "datasets/loader.h"
#include "pipeline/class_names.h"
#include "pipeline/model_loading.h"
#include "prompts/registry.h"
#include "prompts/templates.h"
#include "prompts/zeroshot_classifier.h"
#include "src/core/error.h"
#include "src/core/npy.h"
#include "tools/cli/cli_checks.h"
#include "tools/cli/command.h"
#include "tools/cli/model_options.h"

namespace vlprompt::cli {
namespace {

struct PredictArgs {
  pipeline::ModelArgs model;
  std::string classes, dataset, data_root, templates = "manual", delta, pixels, logits_out;
  std::string domain;  // domain-adaptation deltas: whose prompts classify ("" = the target)
  std::vector<std::string> images;
  int64_t top_k = 5;
  bool json = false;
};

// CLIP-normalised pixels of any 8-bit image lie in [-1.8, 2.2]; 100 leaves room for other
// normalisations while refusing values that only overflow.
constexpr float kMaxPixel = 100.0f;

// The images to classify, [N, 3, R, R] preprocessed, and a name for each: files decoded here, or
// --pixels as `vlprompt preprocess` writes them (FileError naming it for any other shape or dtype).
at::Tensor input_pixels(const PredictArgs& a, int64_t res, std::vector<std::string>* names) {
  *names = a.images;
  if (a.pixels.empty()) {
    std::vector<datasets::ImageRecord> items;
    for (const auto& p : a.images) items.push_back({p, {}, 0, ""});
    return clip_data::load_clip_images(items, res, false, nullptr, nullptr);
  }
  at::Tensor pixels = core::read_npy(a.pixels);
  if (pixels.dim() != 4 || pixels.size(1) != 3 || pixels.size(2) != res || pixels.size(3) != res ||
      pixels.scalar_type() != at::kFloat) {
    throw FileError(a.pixels, "expected float32 pixels [N, 3, " + std::to_string(res) + ", " +
                                  std::to_string(res) +
                                  "] (as `vlprompt preprocess` writes), got " +
                                  c10::str(pixels.scalar_type(), " ", pixels.sizes()));
  }
  if (pixels.size(0) == 0)
    throw FileError(a.pixels, "holds no image (shape [0, 3, " + std::to_string(res) + ", " +
                                  std::to_string(res) + "]); expected at least one");
  // Normalised pixels lie within a few units of 0; 1e30 overflows the tower to NaN probabilities.
  const at::Tensor bad = pixels.isfinite().logical_not().logical_or(pixels.abs() > kMaxPixel);
  if (bad.any().item<bool>()) {
    const int64_t flat = bad.flatten().nonzero()[0].item<int64_t>();
    const int64_t per_image = 3 * res * res;
    throw FileError(a.pixels, "image " + std::to_string(flat / per_image) + " holds the value " +
                                  c10::str(pixels.flatten()[flat].item<float>()) +
                                  "; expected finite normalised pixels within +-" +
                                  std::to_string(static_cast<int>(kMaxPixel)) +
                                  " (as `vlprompt preprocess` writes)");
  }
  names->clear();
  for (int64_t i = 0; i < pixels.size(0); ++i)
    names->push_back(a.pixels + "[" + std::to_string(i) + "]");
  return pixels;
}

// Logits [N, classes]: the delta's method, or the hand-written templates zero-shot.
at::Tensor predict_logits(const PredictArgs& a, pipeline::ModelBundle& m,
                          const pipeline::ClassList& classes, const at::Tensor& pixels) {
  at::NoGradGuard no_grad;
  models::Clip& clip = m.clip.model;
  if (a.delta.empty()) {
    const auto ts = prompts::load_template_set(a.templates, classes.template_text);
    const at::Tensor w =
        prompts::zeroshot_weights(clip, *m.tokenizer, classes.classnames, ts.templates);
    return clip->logits(clip->encode_image(pixels), w);
  }
  prompts::MethodContext context;
  context.clip = clip;
  context.tokenizer = m.tokenizer;
  context.classnames = classes.classnames;
  context.text_template = classes.template_text;
  prompts::LoadedMethod loaded = prompts::method_from_delta(a.delta, context);
  loaded.method->set_training(false);
  if (!a.domain.empty()) loaded.method->set_domain(a.domain);
  return loaded.method->forward({pixels, at::zeros({pixels.size(0)}, at::kLong), false});
}

int run_predict(const PredictArgs& a) {
  if (!a.domain.empty() && a.delta.empty())
    throw Error("predict: --domain picks a domain-adaptation delta's prompts; give --delta too");
  const pipeline::ClassList class_list =
      pipeline::resolve_classes("predict", a.classes, a.dataset, a.data_root);
  const std::vector<std::string>& classnames = class_list.classnames;
  if (a.images.empty() == a.pixels.empty())
    throw Error("predict: give either image files or --pixels X.npy");
  pipeline::ModelBundle m = pipeline::load_model_bundle(a.model);
  std::vector<std::string> names;
  const at::Tensor pixels = input_pixels(a, m.clip.model->config().vision.image_resolution, &names);
  const at::Tensor logits = predict_logits(a, m, class_list, pixels);
  if (!a.logits_out.empty()) core::write_npy(a.logits_out, logits.to(at::kFloat).contiguous());
  const at::Tensor probs = logits.softmax(-1);
  const int64_t k = std::min<int64_t>(a.top_k, static_cast<int64_t>(classnames.size()));
  const auto [p, idx] = probs.topk(k, 1);
  for (size_t i = 0; i < names.size(); ++i) {
    nlohmann::json j{{"image", names[i]}, {"top", nlohmann::json::array()}};
    if (!a.json) std::printf("%s\n", names[i].c_str());
    for (int64_t r = 0; r < k; ++r) {
      const auto& name = classnames[idx[i][r].item<int64_t>()];
      const double prob = p[i][r].item<double>();
      j["top"].push_back({{"label", name}, {"prob", prob}});
      if (!a.json) std::printf("  %-30s %6.2f%%\n", name.c_str(), 100 * prob);
    }
    if (a.json) std::printf("%s\n", j.dump().c_str());
  }
  return 0;
}

Runner setup_predict(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  add_model_options(app, a->model);
  app.add_option("--classes", a->classes, "comma-separated class names");
  app.add_option("--dataset", a->dataset, "take class names and template from a catalog entry");
  app.add_option("--data-root", a->data_root, "the dataset's files, where its class names live");
  app.add_option("--templates", a->templates, "manual, select7, imagenet80 or a file")
      ->default_val("manual");
  app.add_option("--top-k", a->top_k)->default_val(5)->check(at_least(1));
  app.add_option("--domain", a->domain,
                 "with a domain-adaptation --delta (dapl): classify with this domain's prompts "
                 "(default: its target)");
  app.add_option("--delta", a->delta, "predict through a trained delta (RUN/delta.safetensors)")
      ->check(CLI::ExistingFile);
  app.add_option("--pixels", a->pixels,
                 "float32 [N,3,R,R] already preprocessed (vlprompt preprocess), instead of images")
      ->check(CLI::ExistingFile);
  app.add_option("--logits-out", a->logits_out,
                 "write the raw logits, float32 [N,C] in the class order given, as .npy")
      ->check(a_path());
  app.add_flag("--json", a->json, "one JSON object per image");
  app.add_option("images", a->images, "image files");
  app.footer(
      "Example:\n  vlprompt predict --model ViT-B-16.pt --classes \"cat,dog,bird\" pet.jpg\n"
      "  vlprompt predict --model ViT-B-16.pt --delta runs/coop/delta.safetensors --dataset "
      "fashion_mnist --pixels x.npy --logits-out y.npy");
  return [a] { return run_predict(*a); };
}

}  // namespace

VLPROMPT_COMMAND(predict, "top-k labels and probabilities for images", setup_predict);

}  // namespace vlprompt::cli
