// vlprompt zeroshot: hand-written prompts (one template, or ensembles) evaluated side by side on
// a dataset split. The image tower runs once (features cached); each template set costs only
// its text features.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "clip_data/feature_cache.h"
#include "datasets/loader.h"
#include "pipeline/evaluation.h"
#include "pipeline/model_loading.h"
#include "prompts/templates.h"
#include "prompts/zeroshot_classifier.h"
#include "src/core/file_io.h"
#include "src/engine/evaluator.h"
#include "tools/cli/cli_checks.h"
#include "tools/cli/command.h"
#include "tools/cli/model_options.h"

namespace vlprompt::cli {
namespace {

struct ZeroshotArgs {
  pipeline::ModelArgs model;
  std::string dataset, data_root, split = "test", out;
  std::vector<std::string> templates{"manual"};
  int64_t batch_size = 64;
  bool skip_unreadable = false, no_cache = false;
};

int run_zeroshot(const ZeroshotArgs& a) {
  pipeline::ModelBundle m = pipeline::load_model_bundle(a.model);
  datasets::LoadOptions lo;
  lo.skip_missing = a.skip_unreadable;  // files listed by a split file but absent
  const datasets::DatasetSplit split = datasets::load_split(a.dataset, a.data_root, a.split, lo);
  std::cerr << "[vlprompt] " << split.dataset << " " << split.split << ": " << split.items.size()
            << " images, " << split.classnames.size() << " classes\n";
  clip_data::FeatureOptions fo;
  fo.batch_size = a.batch_size;
  fo.skip_unreadable = a.skip_unreadable;
  fo.use_cache = !a.no_cache;
  const clip_data::SplitFeatures feats = clip_data::encode_split(m.clip.model, split, fo);
  if (fo.use_cache) {
    std::cerr << "[vlprompt] image features "
              << (feats.from_cache ? "read from cache " : "cached at ") << feats.cache_path << "\n";
  }
  const at::Tensor img = feats.features / feats.features.norm(2, -1, true);

  nlohmann::json results = nlohmann::json::array();
  for (const std::string& spec : a.templates) {
    const prompts::TemplateSet ts = prompts::load_template_set(spec, split.template_text);
    const at::Tensor w =
        prompts::zeroshot_weights(m.clip.model, *m.tokenizer, split.classnames, ts.templates);
    engine::Evaluator ev(static_cast<int64_t>(split.classnames.size()));
    ev.process(img.matmul(w.t()), feats.labels);
    nlohmann::json r = ev.evaluate().to_json(split.classnames);
    r["templates"] = ts.name;
    r["n_templates"] = ts.templates.size();
    r["template_list"] = ts.templates;
    results.push_back(r);
  }

  nlohmann::json out;
  out["command"] = "zeroshot";
  out["model"] = pipeline::model_json(m.clip);
  out["dataset"] = {{"name", split.dataset},
                    {"split", split.split},
                    {"n", feats.labels.size(0)},
                    {"classnames", split.classnames}};
  std::vector<std::string> skipped = split.skipped;
  skipped.insert(skipped.end(), feats.skipped.begin(), feats.skipped.end());
  out["skipped_unreadable"] = {{"count", skipped.size()}, {"files", skipped}};
  out["feature_cache"] = feats.cache_path;
  out["results"] = results;
  core::atomic_write(a.out + "/results.json", out.dump(2) + "\n");

  std::printf("%-28s %8s %8s %8s %6s\n", "templates", "top1", "top5", "macro", "n");
  for (const auto& r : results) {
    std::printf("%-28s %8.2f %8.2f %8.2f %6lld\n", r["templates"].get<std::string>().c_str(),
                r["top1"].get<double>(), r["top5"].get<double>(), r["macro"].get<double>(),
                static_cast<long long>(r["n"].get<int64_t>()));
  }
  std::printf("results: %s/results.json\n", a.out.c_str());
  return 0;
}

Runner setup_zeroshot(CLI::App& app) {
  auto a = std::make_shared<ZeroshotArgs>();
  add_model_options(app, a->model);
  app.add_option("--dataset", a->dataset, "catalog name (datasets/catalog) or an image folder")
      ->required();
  app.add_option("--data-root", a->data_root, "where the dataset's files are");
  app.add_option("--split", a->split, "split to evaluate")->default_val("test");
  app.add_option("--templates", a->templates,
                 "template sets compared side by side: manual (the dataset's), select7, "
                 "imagenet80, or a file with one template per line")
      ->default_val(std::vector<std::string>{"manual"});
  app.add_option("--batch-size", a->batch_size, "images per image-tower batch")
      ->default_val(64)
      ->check(at_least(1));
  app.add_flag("--skip-unreadable", a->skip_unreadable,
               "leave unreadable images out (listed in results.json) instead of failing");
  app.add_flag("--no-cache", a->no_cache, "do not read or write the image-feature cache");
  app.add_option("--out", a->out, "output folder for results.json")->required();
  app.footer(
      "Example:\n  vlprompt zeroshot --model ViT-B-16.pt --dataset fashion_mnist "
      "--templates manual select7 imagenet80 --out runs/zs");
  return [a] { return run_zeroshot(*a); };
}

}  // namespace

VLPROMPT_COMMAND(zeroshot, "zero-shot evaluation with hand-written prompts", setup_zeroshot);

}  // namespace vlprompt::cli
