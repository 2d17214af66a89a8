#include "pipeline/evaluation.h"

#include <cstdio>

#include "prompts/zeroshot_classifier.h"
#include "src/engine/evaluate.h"
#include "src/engine/evaluator.h"
#include "src/engine/train_data.h"

namespace vlprompt::pipeline {

nlohmann::json model_json(const models::LoadedClip& clip) {
  // null when the file does not say (OpenAI .pt, HF folders): never guessed from the format.
  const auto& p = clip.provenance;
  return {{"source", clip.source},
          {"format", clip.format},
          {"architecture", clip.model->config().name},
          {"fingerprint", clip.model->fingerprint()},
          {"pretrained", p.pretrained ? nlohmann::json(*p.pretrained) : nlohmann::json()},
          {"provenance", p.how_made.empty() ? "not recorded in the file" : p.how_made}};
}

nlohmann::json model_json(const ModelBundle& m) {
  nlohmann::json out = model_json(m.clip);
  out["vocab"] = m.vocab_path;
  return out;
}

nlohmann::json run_header(const TrainArgs& a, const std::string& method, const ModelBundle& m,
                          const datasets::RunSplits& splits) {
  return {{"command", "train"},
          {"title", method + " " + std::to_string(a.shots) + "-shot seed " +
                        std::to_string(a.seed) + " on " + a.dataset + " (" + a.subsample + ")"},
          {"method", method},
          {"dataset", a.dataset},
          {"subsample", a.subsample},
          {"shots", a.shots},
          {"seed", a.seed},
          {"model", model_json(m)},
          {"split_file", splits.split_file},
          {"split_hash", splits.split_hash},
          {"warnings", splits.warnings},
          {"n",
           {{"train", splits.train.items.size()},
            {"val", splits.val.items.size()},
            {"test", splits.test.items.size()}}}};
}

void evaluate_against_manual(engine::Method& method, engine::EvalData& method_data,
                             const ModelBundle& m, const datasets::DatasetSplit& test,
                             const clip_data::SplitFeatures& features, const at::Device& device,
                             nlohmann::json* results) {
  const nlohmann::json learned =
      engine::evaluate(method, method_data, device, engine::Precision::kFp32,
                       engine::ProgressMode::kAuto, "test")
          .to_json(test.classnames);
  models::Clip clip = m.clip.model;  // a handle copy: zeroshot_weights takes a mutable handle
  const at::Tensor w =
      prompts::zeroshot_weights(clip, *m.tokenizer, test.classnames, {test.template_text});
  engine::Evaluator ev(static_cast<int64_t>(test.classnames.size()));
  const at::Tensor img = features.features / features.features.norm(2, -1, true);
  ev.process(img.to(w.device()).matmul(w.t()), features.labels.to(w.device()));
  const nlohmann::json manual = ev.evaluate().to_json(test.classnames);
  (*results)["test"] = learned;
  (*results)["zeroshot_manual"] = manual;
  (*results)["classnames"] = test.classnames;
  (*results)["comparison"] = {{{"name", "hand-written: \"" + test.template_text + "\""},
                               {"top1", manual["top1"]},
                               {"top5", manual["top5"]},
                               {"macro", manual["macro"]}},
                              {{"name", "learned: " + method.name()},
                               {"top1", learned["top1"]},
                               {"top5", learned["top5"]},
                               {"macro", learned["macro"]}}};
  (*results)["skipped_unreadable"] = features.skipped;
}

nlohmann::json training_record(const nlohmann::json& results) {
  nlohmann::json record{{"dataset", results.value("dataset", std::string())},
                        {"shots", results.value("shots", 0)},
                        {"seed", results.value("seed", 0)},
                        {"subsample", results.value("subsample", std::string("all"))},
                        {"summary", results.value("training", nlohmann::json::object())},
                        {"test_top1", results["test"].value("top1", 0.0)}};
  // Domain adaptation: where it adapted to (its test_top1 is on that target's test split).
  if (results.contains("domain_adaptation")) {
    record["target"] = results["domain_adaptation"].value("target", std::string());
  }
  return record;
}

std::vector<std::string> summary_lines(const nlohmann::json& results) {
  std::vector<std::string> out;
  out.push_back(results.value("title", std::string("run")));
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%-44s %8s %8s %8s", "prompts (test)", "top1", "top5", "macro");
  out.push_back(buf);
  for (const auto& r : results.value("comparison", nlohmann::json::array())) {
    std::snprintf(buf, sizeof(buf), "%-44s %8.2f %8.2f %8.2f",
                  r.value("name", std::string()).substr(0, 44).c_str(), r.value("top1", 0.0),
                  r.value("top5", 0.0), r.value("macro", 0.0));
    out.push_back(buf);
  }
  return out;
}

}  // namespace vlprompt::pipeline
