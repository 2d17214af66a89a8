// OpenAI-compatible routes: POST /v1/completions (whole or streamed as server-sent events),
// GET /v1/models, POST /v1/embeddings (CLIP text features, unit norm).
#include <httplib.h>

#include <chrono>
#include <random>

#include "serve/server.h"
#include "src/core/error.h"

namespace vlprompt::serve {
namespace {

using nlohmann::json;

// A request parameter that is present but wrong: answered 400 naming it.
struct BadParam : Error {
  BadParam(const std::string& param, const std::string& message) : Error(message), param(param) {}
  std::string param;
};

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

template <class T>
T number_in(const json& body, const std::string& key, T fallback, T low, T high) {
  if (!body.contains(key) || body[key].is_null()) return fallback;
  const json& v = body[key];
  const bool ok = std::is_integral<T>::value ? v.is_number_integer() : v.is_number();
  if (!ok) throw BadParam(key, "'" + key + "' must be a number, got " + v.dump());
  const T x = v.get<T>();
  if (x < low || x > high)
    throw BadParam(key, "'" + key + "' must be in [" + std::to_string(low) + ", " +
                            std::to_string(high) + "], got " + v.dump());
  return x;
}

std::vector<std::string> strings_of(const json& body, const std::string& key, size_t most) {
  std::vector<std::string> out;
  if (!body.contains(key) || body[key].is_null()) return out;
  const json& v = body[key];
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) throw BadParam(key, "'" + key + "' must be a string or a list of strings");
  for (const json& s : v) {
    if (!s.is_string())
      throw BadParam(key, "'" + key + "' holds " + s.dump() + "; expected strings");
    out.push_back(s.get<std::string>());
  }
  if (out.size() > most)
    throw BadParam(key, "'" + key + "' holds " + std::to_string(out.size()) + " entries; at most " +
                            std::to_string(most));
  return out;
}

// The request's "model" (BadParam when missing), recorded for the metrics.
std::string model_of(const json& body, const std::string& expected) {
  if (!body.contains("model") || !body["model"].is_string())
    throw BadParam("model", "'model' is required: " + expected);
  std::string model = body["model"].get<std::string>();
  http::set_metrics_model(model);
  return model;
}

json logprobs_json(const CompletionState& s, const models::llama::LlamaTokenizer& tok) {
  json tokens = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
  size_t offset = 0;
  for (const TokenRecord& t : s.tokens) {
    const std::string piece = tok.decode({t.id});
    tokens.push_back(piece);
    lps.push_back(t.logprob);
    json top = json::object();
    for (const auto& [id, lp] : t.top) top[tok.decode({id})] = lp;
    tops.push_back(top);
    offsets.push_back(offset);
    offset += piece.size();
  }
  return {{"tokens", tokens},
          {"token_logprobs", lps},
          {"top_logprobs", tops},
          {"text_offset", offsets}};
}

}  // namespace

void Server::add_openai_routes(httplib::Server& http) {
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    json data = json::array();
    const int64_t created = unix_now();
    json towers = json::array();
    if (lm_) towers.push_back({{"kind", "lm"}, {"name", lm_->name}});
    if (clip_) towers.push_back({{"kind", "clip"}, {"name", clip_->clip.model->config().name}});
    data.push_back({{"id", "base"},
                    {"object", "model"},
                    {"created", created},
                    {"owned_by", "vlprompt"},
                    {"vlprompt", {{"models", towers}}}});
    for (const auto& d : registry_.list()) {
      const bool lm = d->model == DeltaModel::kLm;
      data.push_back({{"id", d->name},
                      {"object", "model"},
                      {"created", d->loaded_at},
                      {"owned_by", "vlprompt"},
                      {"parent", "base"},
                      {"root", lm ? lm_->name : clip_->clip.model->config().name},
                      {"vlprompt",
                       {{"model", lm ? "lm" : "clip"},
                        {"method", d->info.method},
                        {"classes", d->info.classnames},
                        {"file", d->path}}}});
    }
    http::send_json(res, {{"object", "list"}, {"data", data}});
  });

  http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    json body;
    std::vector<std::shared_ptr<Completion>> jobs;
    std::string model;
    bool stream = false;
    try {
      body = http::parse_body(req);
      model = model_of(body, "'base' or a delta's name (GET /v1/models)");
      if (!lm_) {
        http::openai_error(res, 404, "this server holds no text LM (start it with --lm-model)",
                           "invalid_request_error", "model", "model_not_found");
        return;
      }
      std::shared_ptr<const ServedDelta> delta;
      if (model != "base") {
        delta = registry_.find(model);
        if (!delta || delta->model != DeltaModel::kLm) {
          http::openai_error(
              res, 404,
              "the model '" + model +
                  "' does not exist: 'base' or a text delta listed by GET /v1/models",
              "invalid_request_error", "model", "model_not_found");
          return;
        }
      }
      if (!body.contains("prompt")) throw BadParam("prompt", "'prompt' is required");
      const std::vector<std::string> prompts = strings_of(body, "prompt", 64);
      if (prompts.empty()) throw BadParam("prompt", "'prompt' holds no text");
      if (number_in<int64_t>(body, "n", 1, 1, 1) != 1) throw BadParam("n", "only n = 1 is served");
      if (body.value("echo", false)) throw BadParam("echo", "echo is not served");
      stream = body.value("stream", false);
      if (stream && prompts.size() > 1)
        throw BadParam("prompt", "a streamed completion takes one prompt");
      SamplingParams p;
      const int64_t positions = lm_->model->config().max_position_embeddings;
      p.max_tokens = number_in<int64_t>(body, "max_tokens", 16, 1, positions);
      p.temperature = number_in<double>(body, "temperature", 1.0, 0.0, 2.0);
      p.top_p = number_in<double>(body, "top_p", 1.0, 1e-9, 1.0);
      p.logprobs = number_in<int64_t>(body, "logprobs", -1, 0, 20);
      p.stop = strings_of(body, "stop", 4);
      p.stream = stream;
      for (const std::string& s : p.stop)
        if (s.empty()) throw BadParam("stop", "'stop' holds an empty string");
      const bool seeded = body.contains("seed") && !body["seed"].is_null();
      const uint64_t seed =
          seeded ? static_cast<uint64_t>(number_in<int64_t>(body, "seed", 0, 0, INT64_MAX))
                 : std::random_device{}();
      for (size_t i = 0; i < prompts.size(); ++i) {
        std::vector<int64_t> ids = lm_->tokenizer->encode(prompts[i]);
        if (static_cast<int64_t>(ids.size()) + p.max_tokens > positions)
          throw BadParam("max_tokens", "the prompt's " + std::to_string(ids.size()) +
                                           " tokens + max_tokens " + std::to_string(p.max_tokens) +
                                           " exceed the model's context of " +
                                           std::to_string(positions));
        SamplingParams pi = p;
        pi.seed = seed + i;
        jobs.push_back(std::make_shared<Completion>(delta, std::move(ids), pi));
      }
    } catch (const BadParam& e) {
      http::openai_error(res, 400, e.what(), "invalid_request_error", e.param);
      return;
    } catch (const std::exception& e) {
      http::openai_error(res, 400, e.what(), "invalid_request_error");
      return;
    }
    for (auto& job : jobs) {
      if (!lm_engine_->submit(job)) {
        for (auto& j : jobs) j->cancel();
        res.set_header("Retry-After", "1");
        http::openai_error(res, draining_ ? 503 : 429,
                           draining_ ? "the server is shutting down"
                                     : "the queue is full (--max-queue " +
                                           std::to_string(options_.max_queue) + "); retry later",
                           draining_ ? "server_error" : "rate_limit_exceeded", "",
                           draining_ ? "" : "rate_limit_exceeded");
        return;
      }
    }
    const std::string id = next_id("cmpl-");
    const int64_t created = unix_now();
    const auto until = deadline();
    const bool with_logprobs = jobs[0]->params().logprobs >= 0;
    if (!stream) {
      json choices = json::array();
      int64_t completion_tokens = 0, prompt_tokens = 0;
      for (size_t i = 0; i < jobs.size(); ++i) {
        CompletionState s;
        do {
          s = jobs[i]->wait(SIZE_MAX, until);
        } while (!s.finished && std::chrono::steady_clock::now() < until);
        if (!s.finished) {
          for (auto& j : jobs) j->cancel();
          http::openai_error(res, 504, "the completion did not finish within the server's timeout",
                             "timeout");
          return;
        }
        if (!s.error.empty()) {
          http::openai_error(res, 500, s.error, "server_error");
          return;
        }
        completion_tokens += static_cast<int64_t>(s.tokens.size());
        prompt_tokens += static_cast<int64_t>(jobs[i]->prompt().size());
        choices.push_back({{"text", s.text},
                           {"index", i},
                           {"logprobs", with_logprobs ? logprobs_json(s, *lm_->tokenizer) : json()},
                           {"finish_reason", s.finish_reason}});
      }
      http::send_json(res, {{"id", id},
                            {"object", "text_completion"},
                            {"created", created},
                            {"model", model},
                            {"choices", choices},
                            {"usage",
                             {{"prompt_tokens", prompt_tokens},
                              {"completion_tokens", completion_tokens},
                              {"total_tokens", prompt_tokens + completion_tokens}}}});
      return;
    }
    auto job = jobs[0];
    auto sent = std::make_shared<size_t>(0);
    auto sent_tokens = std::make_shared<size_t>(0);
    auto tokenizer = lm_->tokenizer;
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [job, sent, sent_tokens, id, created, model, until, with_logprobs, tokenizer](
            size_t, httplib::DataSink& sink) {
          const CompletionState s = job->wait(*sent, until);
          auto event = [&](const json& payload) {
            const std::string line = "data: " + payload.dump() + "\n\n";
            return sink.write(line.data(), line.size());
          };
          const bool timed_out = !s.finished && std::chrono::steady_clock::now() >= until;
          if (!s.error.empty() || timed_out) {
            job->cancel();
            event({{"error",
                    {{"message", timed_out
                                     ? "the completion did not finish within the server's timeout"
                                     : s.error},
                     {"type", timed_out ? "timeout" : "server_error"}}}});
            sink.done();
            return true;
          }
          const size_t ready = std::min(s.ready, s.text.size());
          if (ready > *sent || s.finished) {
            json choice{{"text", ready > *sent ? s.text.substr(*sent, ready - *sent) : ""},
                        {"index", 0},
                        {"logprobs", json()},
                        {"finish_reason", s.finished ? json(s.finish_reason) : json()}};
            if (with_logprobs) {
              CompletionState part = s;
              part.tokens.assign(s.tokens.begin() + std::min(*sent_tokens, s.tokens.size()),
                                 s.tokens.end());
              choice["logprobs"] = logprobs_json(part, *tokenizer);
              *sent_tokens = s.tokens.size();
            }
            *sent = ready;
            if (!event({{"id", id},
                        {"object", "text_completion"},
                        {"created", created},
                        {"model", model},
                        {"choices", json::array({choice})}})) {
              job->cancel();
              return false;
            }
          }
          if (s.finished) {
            const std::string done = "data: [DONE]\n\n";
            sink.write(done.data(), done.size());
            sink.done();
          }
          return true;
        },
        [job](bool success) {
          if (!success) job->cancel();
        });
  });

  http.Post("/v1/embeddings", [this](const httplib::Request& req, httplib::Response& res) {
    auto job = std::make_shared<ClipJob>();
    std::string model;
    try {
      const json body = http::parse_body(req);
      model = model_of(body, "'base' (CLIP's text tower)");
      if (!clip_) {
        http::openai_error(res, 404, "this server holds no CLIP (start it with --model)",
                           "invalid_request_error", "model", "model_not_found");
        return;
      }
      if (model != "base") {
        http::openai_error(res, 404,
                           "embeddings come from the frozen CLIP text tower: model must be 'base', "
                           "got '" +
                               model + "'",
                           "invalid_request_error", "model", "model_not_found");
        return;
      }
      if (!body.contains("input")) throw BadParam("input", "'input' is required");
      job->kind = ClipJob::Kind::kEmbed;
      job->texts = strings_of(body, "input", 2048);
      if (job->texts.empty()) throw BadParam("input", "'input' holds no text");
      if (body.contains("encoding_format") && body["encoding_format"] != "float")
        throw BadParam("encoding_format", "only encoding_format 'float' is served");
    } catch (const BadParam& e) {
      http::openai_error(res, 400, e.what(), "invalid_request_error", e.param);
      return;
    } catch (const std::exception& e) {
      http::openai_error(res, 400, e.what(), "invalid_request_error");
      return;
    }
    if (!clip_engine_->submit(job)) {
      res.set_header("Retry-After", "1");
      http::openai_error(res, 429, "the queue is full; retry later", "rate_limit_exceeded", "",
                         "rate_limit_exceeded");
      return;
    }
    const auto until = deadline();
    if (!job->wait(until)) {
      http::openai_error(res, 504, "the embedding did not finish within the server's timeout",
                         "timeout");
      return;
    }
    if (!job->error.empty()) {
      http::openai_error(res, 400, job->error, "invalid_request_error", "input");
      return;
    }
    json data = json::array();
    int64_t tokens = 0;
    for (int64_t i = 0; i < job->result.size(0); ++i) {
      const at::Tensor row = job->result[i].contiguous();
      data.push_back({{"object", "embedding"},
                      {"index", i},
                      {"embedding", std::vector<float>(row.data_ptr<float>(),
                                                       row.data_ptr<float>() + row.numel())}});
      tokens += static_cast<int64_t>(clip_->tokenizer->encode(job->texts[i]).size()) + 2;
    }
    http::send_json(res, {{"object", "list"},
                          {"data", data},
                          {"model", model},
                          {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
  });
}

}  // namespace vlprompt::serve
