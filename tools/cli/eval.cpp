// vlprompt eval: a trained delta evaluated on a dataset's test split (its own, base -> new, or
// another dataset's classes: cross-dataset transfer) beside that dataset's hand-written prompt.
// The image tower runs once per backbone and split (features cached) for text-side deltas and the
// hand-written baseline; a delta with image-side sites is evaluated on the images themselves.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "clip_data/feature_cache.h"
#include "clip_data/run_data.h"
#include "datasets/run_splits.h"
#include "prompts/registry.h"
#include "src/core/device.h"
#include "src/core/error.h"
#include "src/delta/delta_file.h"
#include "src/engine/run_outputs.h"
#include "tools/cli/command.h"
#include "tools/pipeline/cli_checks.h"
#include "tools/pipeline/evaluation.h"
#include "tools/pipeline/model_loading.h"
#include "tools/pipeline/text_runs.h"

namespace vlprompt::cli {
namespace {

struct EvalArgs {
  std::string delta;
  pipeline::ModelArgs model;
  std::string dataset, data_root, subsample = "all", split = "test", device = "cpu", out;
  std::string domain;  // domain-adaptation deltas: whose prompts classify ("" = the target)
  int64_t batch_size = 64;
};

// The title names where the delta was trained when that is not where it is evaluated.
std::string eval_title(const delta::DeltaFileInfo& info, const EvalArgs& a) {
  const nlohmann::json& t = info.training;
  const std::string trained_on = t.value("dataset", std::string("?"));
  std::string title = info.method + " " + std::to_string(t.value("shots", 0)) + "-shot seed " +
                      std::to_string(t.value("seed", 0));
  if (trained_on != a.dataset) title += " (trained on " + trained_on + ")";
  return title + " evaluated on " + a.dataset + " " + a.split + " (" + a.subsample + ")";
}

int run_eval(const EvalArgs& a) {
  // Read once: the backbone is checked on, and the method built from, the same version of it.
  const delta::DeltaFile file = delta::read_delta(a.delta);
  if (prompts::is_lm_method(file.info.method)) {
    // A text delta: --model is its LLaMA folder, --dataset a text dataset.
    pipeline::TextEvalArgs t;
    t.delta = a.delta;
    t.model = a.model.model;
    t.dataset = a.dataset;
    t.data_root = a.data_root;
    t.split = a.split;
    t.device = a.device;
    t.out = a.out;
    t.batch_size = a.batch_size;
    return pipeline::eval_text(t);
  }
  const at::Device device = core::parse_device(a.device);
  pipeline::ModelBundle m = pipeline::load_model_bundle(a.model);
  models::Clip& clip = m.clip.model;
  // Checked before the dataset is read: a wrong backbone should fail at once, naming both.
  delta::check_backbone(file.info, clip->fingerprint(), clip->config().name);

  const datasets::DatasetSplit test =
      datasets::load_eval_split(a.dataset, a.data_root, a.split, a.subsample);
  std::cerr << "[vlprompt] " << a.dataset << " " << a.split << " (" << a.subsample
            << "): " << test.items.size() << " images, " << test.classnames.size() << " classes\n";
  prompts::LoadedMethod loaded;
  try {
    prompts::MethodContext context;
    context.clip = clip;
    context.tokenizer = m.tokenizer;
    context.classnames = test.classnames;
    context.text_template = test.template_text;
    loaded = prompts::method_from_delta_file(file, a.delta, context);
  } catch (const FileError&) {
    throw;
  } catch (const Error& e) {
    // A class-specific delta refusing another class list: say which file and dataset.
    throw FileError(
        a.delta, "cannot evaluate on " + a.dataset + " (" + a.subsample + " classes): " + e.what());
  }
  loaded.method->set_training(false);
  if (!a.domain.empty()) loaded.method->set_domain(a.domain);

  engine::FeatureOptions fo;
  fo.batch_size = a.batch_size;
  const engine::SplitFeatures features = engine::encode_split(clip, test, fo);
  std::cerr << "[vlprompt] image features "
            << (features.from_cache ? "read from cache " : "cached at ") << features.cache_path
            << "\n";

  const nlohmann::json& training = loaded.info.training;
  nlohmann::json delta_record = delta::info_json(loaded.info);
  delta_record["path"] = a.delta;
  nlohmann::json results{{"command", "eval"},
                         {"title", eval_title(loaded.info, a)},
                         {"method", loaded.info.method},
                         {"dataset", a.dataset},
                         {"trained_on", training.value("dataset", std::string())},
                         {"subsample", a.subsample},
                         {"split", a.split},
                         {"shots", training.value("shots", 0)},
                         {"seed", training.value("seed", 0)},
                         {"delta", delta_record},
                         {"model", pipeline::model_json(m)},
                         {"n", {{"test", test.items.size()}}}};
  if (!loaded.method->domains().empty()) {
    results["domain"] = loaded.method->domain();
    results["domains"] = loaded.method->domains();
  }
  auto method_data =
      engine::make_eval_data(loaded.method->data_needs(), clip, test, features, a.batch_size);
  pipeline::evaluate_against_manual(*loaded.method, *method_data, m, test, features, device,
                                    &results);
  engine::write_run_outputs(a.out, results, {});
  for (const auto& l : pipeline::summary_lines(results)) std::cout << l << "\n";
  std::cout << "results: " << a.out << "/results.json\n";
  return 0;
}

Runner setup_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  app.add_option("--delta", a->delta, "delta file (RUN/delta.safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  pipeline::add_model_options(app, a->model);
  app.add_option("--dataset", a->dataset,
                 "catalog name or image folder; another dataset's classes transfer a delta that "
                 "is not tied to its classes")
      ->required();
  app.add_option("--data-root", a->data_root, "where the dataset's files are");
  app.add_option("--subsample", a->subsample, "classes: all | base | new")->default_val("all");
  app.add_option("--split", a->split, "split to evaluate")->default_val("test");
  app.add_option("--device", a->device, "cpu | cuda | cuda:N")->default_val("cpu");
  app.add_option("--domain", a->domain,
                 "domain-adaptation deltas (dapl): classify with this domain's prompts "
                 "(default: the target the delta was trained for)");
  app.add_option("--batch-size", a->batch_size, "images per image-tower batch")
      ->default_val(64)
      ->check(pipeline::at_least(1));
  app.add_option("--out", a->out, "output folder for results.json and report.html")->required();
  app.footer(
      "Example:\n  vlprompt eval --delta runs/coop-16-1/delta.safetensors --model ViT-B-16.pt "
      "--dataset fashion_mnist --out runs/coop-16-1-eval\n"
      "  vlprompt eval --delta runs/base/delta.safetensors --model ViT-B-16.pt --dataset "
      "fashion_mnist --subsample new --out runs/new");
  return [a] { return run_eval(*a); };
}

}  // namespace

VLPROMPT_COMMAND(eval, "evaluate a trained delta on a dataset (cross-dataset too)", setup_eval);

}  // namespace vlprompt::cli
