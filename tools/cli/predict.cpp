// vlprompt predict: top-k labels and probabilities for image files, from class names given on
// the command line or a dataset's class list, with the dataset's (or a given) template.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "datasets/loader.h"
#include "prompts/templates.h"
#include "prompts/zeroshot_classifier.h"
#include "src/core/error.h"
#include "src/engine/feature_cache.h"
#include "tools/cli/command.h"
#include "tools/pipeline/model_loading.h"

namespace vlprompt::cli {
namespace {

struct PredictArgs {
  pipeline::ModelArgs model;
  std::string classes, dataset, data_root, templates = "manual";
  std::vector<std::string> images;
  int64_t top_k = 5;
  bool json = false;
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    const size_t b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

int run_predict(const PredictArgs& a) {
  if (a.classes.empty() == a.dataset.empty())
    throw Error("predict: give either --classes or --dataset");
  std::vector<std::string> classnames;
  std::string manual = "a photo of a {}.";
  if (!a.dataset.empty()) {
    const auto entry = datasets::load_catalog_entry(a.dataset);
    classnames = entry.classnames;
    manual = entry.template_text;
    // Layouts that keep class names in their split files need the data to name the classes;
    // only the names are used here, so images missing from the split do not matter.
    if (classnames.empty()) {
      datasets::LoadOptions names_only;
      names_only.skip_missing = true;
      classnames = datasets::load_split(a.dataset, a.data_root, "test", names_only).classnames;
    }
  } else {
    classnames = split_commas(a.classes);
  }
  if (classnames.size() < 2) throw Error("predict: need at least two class names");
  pipeline::ModelBundle m = pipeline::load_model_bundle(a.model);
  const auto ts = prompts::load_template_set(a.templates, manual);
  at::NoGradGuard no_grad;
  const at::Tensor w =
      prompts::zeroshot_weights(m.clip.model, *m.tokenizer, classnames, ts.templates);
  std::vector<datasets::ImageRecord> items;
  for (const auto& p : a.images) items.push_back({p, {}, 0, ""});
  const at::Tensor f = m.clip.model->encode_image(engine::load_clip_images(
      items, m.clip.model->config().vision.image_resolution, false, nullptr, nullptr));
  const at::Tensor probs = m.clip.model->logits(f, w).softmax(-1);
  const int64_t k = std::min<int64_t>(a.top_k, static_cast<int64_t>(classnames.size()));
  const auto [p, idx] = probs.topk(k, 1);
  for (size_t i = 0; i < a.images.size(); ++i) {
    nlohmann::json j{{"image", a.images[i]}, {"top", nlohmann::json::array()}};
    if (!a.json) std::printf("%s\n", a.images[i].c_str());
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
  pipeline::add_model_options(app, a->model);
  app.add_option("--classes", a->classes, "comma-separated class names");
  app.add_option("--dataset", a->dataset, "take class names and template from a catalog entry");
  app.add_option("--data-root", a->data_root, "the dataset's files, where its class names live");
  app.add_option("--templates", a->templates, "manual, select7, imagenet80 or a file")
      ->default_val("manual");
  app.add_option("--top-k", a->top_k)->default_val(5);
  app.add_flag("--json", a->json, "one JSON object per image");
  app.add_option("images", a->images, "image files")->required();
  app.footer("Example:\n  vlprompt predict --model ViT-B-16.pt --classes \"cat,dog,bird\" pet.jpg");
  return [a] { return run_predict(*a); };
}

}  // namespace

VLPROMPT_COMMAND(predict, "top-k labels and probabilities for images", setup_predict);

}  // namespace vlprompt::cli
