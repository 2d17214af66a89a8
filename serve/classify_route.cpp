// POST /v1/classify, the vlprompt extension for classification deltas (rank classification, as
// `vlprompt eval` scores them): {"model": DELTA, "input": text or [texts]} ->
// {"object": "list", "model", "data": [{"index", "label", "scores": {class: score}}]}. Each text
// is put into the delta's template, and every class scores the log-likelihood of its label words
// (summed or averaged as the delta was trained). It runs on the LM serving loop's thread between
// decoding steps; OpenAI has no such route, so it has its own rather than a field on completions,
// whose answer would not be a completion.
#include <httplib.h>

#include "pipeline/text_delta.h"
#include "pipeline/text_rows.h"
#include "serve/server.h"
#include "src/core/error.h"
#include "src/engine/token_data.h"

namespace vlprompt::serve {
namespace {

using nlohmann::json;

// What the loop's task fills in for the waiting handler.
struct ClassifyResult {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  at::Tensor scores;  // [N, C]
  std::string error;
};

}  // namespace

void Server::add_classify_route(httplib::Server& http) {
  http.Post("/v1/classify", [this](const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<const ServedDelta> d;
    std::vector<std::string> texts;
    try {
      const json body = http::parse_body(req);
      if (!body.contains("model") || !body["model"].is_string())
        throw Error("'model' is required: a text classification delta (GET /v1/models)");
      const std::string model = body["model"].get<std::string>();
      http::set_metrics_model(model);
      d = registry_.find(model);
      if (!lm_ || !d || d->model != DeltaModel::kLm) {
        http::openai_error(res, 404, "no text delta '" + model + "' (GET /v1/models)",
                           "invalid_request_error", "model", "model_not_found");
        return;
      }
      if (d->lm_options.task() != prompts::LmTask::kClassify || d->info.classnames.empty()) {
        http::openai_error(res, 400,
                           "delta '" + model + "' was trained for causal LM, not classification",
                           "invalid_request_error", "model");
        return;
      }
      const json& input = body.value("input", json());
      if (input.is_string()) {
        texts.push_back(input.get<std::string>());
      } else if (input.is_array() && !input.empty() && input.size() <= 256) {
        for (const json& t : input) {
          if (!t.is_string()) throw Error("'input' holds " + t.dump() + "; expected strings");
          texts.push_back(t.get<std::string>());
        }
      } else {
        http::openai_error(res, 400, "'input' must be a text or a list of 1 to 256 texts",
                           "invalid_request_error", "input");
        return;
      }
    } catch (const std::exception& e) {
      http::openai_error(res, 400, e.what(), "invalid_request_error");
      return;
    }
    auto result = std::make_shared<ClassifyResult>();
    pipeline::LmBundle* lm = lm_.get();
    const bool queued = lm_engine_->submit_task([d, texts, result, lm] {
      at::Tensor scores;
      std::string error;
      try {
        datasets::TextSplit split;
        split.classnames = d->info.classnames;
        const json words = d->info.training.value("label_words", json::array());
        split.label_words = words.is_array() && words.size() == split.classnames.size()
                                ? words.get<std::vector<std::string>>()
                                : split.classnames;
        split.template_text = d->info.prompt_template;
        for (const std::string& t : texts) split.items.push_back({t, 0, "", "request"});
        const pipeline::TextTask task =
            pipeline::task_from_delta(d->info, prompts::LmTask::kClassify, split, *lm->tokenizer);
        prompts::PromptedLmMethod method(d->info.method, lm->model, d->lm_delta, task.label_ids,
                                         lm->fingerprint, d->lm_options);
        method.set_training(false);
        const auto rows = pipeline::token_rows(split, task, *lm->tokenizer);
        engine::TokenData data(rows, static_cast<int64_t>(rows.size()));
        const engine::Batch batch = data.batch(0);
        scores = method.class_scores(batch.inputs.to(lm->model->head_weight().device()))
                     .to(at::kFloat)
                     .cpu();
      } catch (const std::exception& e) {
        error = e.what();
      }
      std::lock_guard<std::mutex> lock(result->mutex);
      result->scores = scores;
      result->error = error;
      result->done = true;
      result->done_cv.notify_all();
    });
    if (!queued) {
      res.set_header("Retry-After", "1");
      http::openai_error(res, draining_ ? 503 : 429, "the queue is full; retry later",
                         "rate_limit_exceeded", "", "rate_limit_exceeded");
      return;
    }
    std::unique_lock<std::mutex> lock(result->mutex);
    const bool finished =
        result->done_cv.wait_until(lock, deadline(), [&] { return result->done; });
    if (!finished) {
      http::openai_error(res, 504, "classification did not finish within the server's timeout",
                         "timeout");
      return;
    }
    if (!result->error.empty()) {
      http::openai_error(res, 400, result->error, "invalid_request_error", "input");
      return;
    }
    json data = json::array();
    const at::Tensor s = result->scores;
    for (int64_t i = 0; i < s.size(0); ++i) {
      json scores = json::object();
      for (int64_t c = 0; c < s.size(1); ++c)
        scores[d->info.classnames[c]] = s[i][c].item<double>();
      data.push_back({{"index", i},
                      {"label", d->info.classnames[s[i].argmax().item<int64_t>()]},
                      {"scores", scores}});
    }
    http::send_json(res, {{"object", "list"}, {"model", d->name}, {"data", data}});
  });
}

}  // namespace vlprompt::serve
