// The CLIP kind of model_kind.h: image classification deltas evaluated beside the dataset's
// hand-written prompt, inspected through CLIP's token embeddings.
#include <iostream>

#include "clip_data/feature_cache.h"
#include "clip_data/run_data.h"
#include "datasets/run_splits.h"
#include "models/clip/load_clip.h"
#include "pipeline/clip_training_run.h"
#include "pipeline/evaluation.h"
#include "pipeline/model_kind.h"
#include "pipeline/model_loading.h"
#include "prompts/delta_words.h"
#include "prompts/registry.h"
#include "src/core/device.h"
#include "src/core/error.h"
#include "src/engine/run_outputs.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::pipeline {
namespace {

// The title names where the delta was trained when that is not where it is evaluated.
std::string eval_title(const delta::DeltaFileInfo& info, const EvalArgs& a) {
  const nlohmann::json& t = info.training;
  const std::string trained_on = t.value("dataset", std::string("?"));
  std::string title = info.method + " " + std::to_string(t.value("shots", 0)) + "-shot seed " +
                      std::to_string(t.value("seed", 0));
  if (trained_on != a.dataset) title += " (trained on " + trained_on + ")";
  return title + " evaluated on " + a.dataset + " " + a.split + " (" + a.subsample + ")";
}

// The delta's method rebuilt on `m` for the classes of `test`; FileError naming the file and data
// set when a class-specific delta refuses them.
prompts::LoadedMethod method_for_eval(const EvalArgs& a, const delta::DeltaFile& file,
                                      const ModelBundle& m, const datasets::DatasetSplit& test) {
  prompts::LoadedMethod loaded;
  try {
    prompts::MethodContext context;
    context.clip = m.clip.model;
    context.tokenizer = m.tokenizer;
    context.classnames = test.classnames;
    context.text_template = test.template_text;
    loaded = prompts::method_from_delta_file(file, a.delta, context);
  } catch (const FileError&) {
    throw;
  } catch (const Error& e) {
    throw FileError(
        a.delta, "cannot evaluate on " + a.dataset + " (" + a.subsample + " classes): " + e.what());
  }
  loaded.method->set_training(false);
  if (!a.domain.empty()) loaded.method->set_domain(a.domain);
  return loaded;
}

nlohmann::json eval_header(const EvalArgs& a, const prompts::LoadedMethod& loaded,
                           const ModelBundle& m, const datasets::DatasetSplit& test) {
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
                         {"model", model_json(m)},
                         {"n", {{"test", test.items.size()}}}};
  if (!loaded.method->domains().empty()) {
    results["domain"] = loaded.method->domain();
    results["domains"] = loaded.method->domains();
  }
  return results;
}

int evaluate_clip_delta(const EvalArgs& a, const delta::DeltaFile& file) {
  const at::Device device = core::parse_device(a.device);
  ModelBundle m = load_model_bundle(a.model);
  models::Clip& clip = m.clip.model;
  // Checked before the dataset is read: a wrong backbone should fail at once, naming both.
  delta::check_backbone(file.info, clip->fingerprint(), clip->config().name);
  const datasets::DatasetSplit test =
      datasets::load_eval_split(a.dataset, a.data_root, a.split, a.subsample);
  std::cerr << "[vlprompt] " << a.dataset << " " << a.split << " (" << a.subsample
            << "): " << test.items.size() << " images, " << test.classnames.size() << " classes\n";
  const prompts::LoadedMethod loaded = method_for_eval(a, file, m, test);

  clip_data::FeatureOptions fo;
  fo.batch_size = a.batch_size;
  const clip_data::SplitFeatures features = clip_data::encode_split(clip, test, fo);
  std::cerr << "[vlprompt] image features "
            << (features.from_cache ? "read from cache " : "cached at ") << features.cache_path
            << "\n";
  nlohmann::json results = eval_header(a, loaded, m, test);
  auto method_data =
      clip_data::make_eval_data(loaded.method->data_needs(), clip, test, features, a.batch_size);
  evaluate_against_manual(*loaded.method, *method_data, m, test, features, device, &results);
  engine::write_run_outputs(a.out, results, {});
  for (const auto& l : summary_lines(results)) std::cout << l << "\n";
  std::cout << "results: " << a.out << "/results.json\n";
  return 0;
}

// For every context tensor: per class (CSC) and position, the top-k nearest vocabulary tokens.
nlohmann::json nearest_clip_words(const delta::DeltaFile& file, const std::string& path,
                                  const ModelArgs& model, int64_t top_k) {
  ModelBundle m = load_model_bundle(model);
  delta::check_backbone(file.info, m.clip.model->fingerprint(), m.clip.model->config().name);
  // The tensors against the method the metadata describes (n_ctx, csc, classes, ...): rebuilding
  // it on the backbone checks every shape, and names the file and tensor when one does not fit.
  prompts::MethodContext context;
  context.clip = m.clip.model;
  context.tokenizer = m.tokenizer;
  prompts::method_from_delta(path, context);
  at::NoGradGuard no_grad;
  const int64_t vocab = m.clip.model->config().text.vocab_size;
  const at::Tensor table = m.clip.model->embed_tokens(at::arange(vocab).unsqueeze(0)).squeeze(0);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, t] : file.tensors) {
    if (!prompts::is_text_context(name, t, table.size(1))) continue;
    const int64_t n_ctx = t.size(-2);
    const auto matches =
        prompts::nearest_words(t.reshape({-1, t.size(-1)}), table, *m.tokenizer, top_k);
    nlohmann::json rows = nlohmann::json::array();
    for (size_t i = 0; i < matches.size(); ++i) {
      nlohmann::json row{{"position", static_cast<int64_t>(i) % n_ctx}};
      if (t.dim() == 3) {
        const size_t c = i / static_cast<size_t>(n_ctx);
        row["class"] = c;
        if (c < file.info.classnames.size()) row["classname"] = file.info.classnames[c];
      }
      for (const auto& w : matches[i]) {
        row["words"].push_back(
            {{"word", w.word}, {"token", w.token}, {"id", w.id}, {"distance", w.distance}});
      }
      rows.push_back(row);
    }
    out[name] = rows;
  }
  return out;
}

// Without --model: the method rebuilt on a random CLIP of the backbone's architecture (its config
// by name, models/configs), which checks every tensor's shape against the metadata (n_ctx, csc,
// classes). FileError naming the file when one does not fit.
std::string check_shapes_by_config(const delta::DeltaFile& file, const std::string& path) {
  models::ClipConfig config;
  try {
    config = models::load_config(file.info.backbone);
  } catch (const Error&) {
    return "not checked: backbone '" + file.info.backbone +
           "' is no config name (pass --model to check them)";
  }
  prompts::MethodContext context;
  context.clip = models::init_clip(config, 0);
  context.tokenizer = std::make_shared<const text::ClipTokenizer>(
      text::ClipTokenizer::from_file(text::bundled_vocab()));
  prompts::method_from_delta_unchecked(path, context);
  return "fit the metadata's hyperparameters on the " + file.info.backbone + " architecture";
}

}  // namespace

const ModelKind& clip_kind() {
  static const ModelKind kind{"clip", make_clip_training_run, evaluate_clip_delta,
                              nearest_clip_words, check_shapes_by_config};
  return kind;
}

}  // namespace vlprompt::pipeline
