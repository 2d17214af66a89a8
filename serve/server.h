// `vlprompt serve`: one frozen text LM and/or CLIP, many deltas, over HTTP (cpp-httplib).
//
// Routes: OpenAI-compatible /v1/completions, /v1/models, /v1/embeddings (openai_routes.cpp);
// KServe v2 /v2/health/{live,ready}, /v2/models/{NAME}[/ready|/infer] (kserve_routes.cpp);
// Prometheus /metrics. Requests go to the serving loops (lm_engine.h, clip_engine.h) through
// bounded queues (429 past --max-queue); errors are 4xx/5xx with an OpenAI-style body on /v1 and
// a KServe-style one on /v2; with an API key every route but health needs
// `Authorization: Bearer KEY`. shutdown() stops accepting, finishes what was accepted, and returns.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/lm_bundle.h"
#include "pipeline/model_loading.h"
#include "serve/clip_engine.h"
#include "serve/lm_engine.h"
#include "serve/metrics.h"
#include "serve/served_delta.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace vlprompt::serve {

class DeltaWatcher;

struct ServerOptions {
  pipeline::ModelArgs clip;                                 // clip.model empty: no CLIP
  std::string lm_model;                                     // empty: no text LM
  std::vector<std::pair<std::string, std::string>> deltas;  // NAME=FILE
  std::string delta_dir;
  int64_t watch_interval_ms = 500;
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port (the bound one is printed)
  std::string api_key;
  int64_t max_batch = 32;
  int64_t max_wait_ms = 2;
  int64_t max_queue = 256;
  int64_t http_threads = 256;
  int64_t threads = 0;  // compute threads of each serving loop (0: LibTorch's default)
  double request_timeout_s = 300;
  size_t max_body_bytes = 32u << 20;
  bool mix_deltas = true;
  std::string device = "cpu";
};

class Server {
 public:
  // Loads the models and deltas (errors name the file) and starts the serving loops.
  explicit Server(ServerOptions options);
  ~Server();

  // Binds host:port; returns the port (the free one chosen for port 0). Error naming the address
  // when it cannot bind.
  int bind();
  // Serves until shutdown(); returns after every accepted request was answered.
  void run();
  // Stops accepting connections; requests already accepted finish. Callable from any thread.
  void shutdown();

  // For the route files.
  const ServerOptions& options() const { return options_; }
  Metrics& metrics() { return metrics_; }
  DeltaRegistry& registry() { return registry_; }
  pipeline::LmBundle* lm() { return lm_.get(); }
  pipeline::ModelBundle* clip() { return clip_.get(); }
  LmEngine* lm_engine() { return lm_engine_.get(); }
  ClipEngine* clip_engine() { return clip_engine_.get(); }
  bool draining() const { return draining_; }
  // When a request arriving now times out (--request-timeout).
  std::chrono::steady_clock::time_point deadline() const {
    return std::chrono::steady_clock::now() +
           std::chrono::milliseconds(static_cast<int64_t>(options_.request_timeout_s * 1000));
  }
  // A unique id for a response ("cmpl-7").
  std::string next_id(const std::string& prefix);

 private:
  void add_routes();
  void add_openai_routes(httplib::Server& http);
  void add_kserve_routes(httplib::Server& http);
  void add_classify_route(httplib::Server& http);

  ServerOptions options_;
  Metrics metrics_;
  DeltaRegistry registry_;
  std::unique_ptr<pipeline::LmBundle> lm_;
  std::unique_ptr<pipeline::ModelBundle> clip_;
  std::unique_ptr<LmEngine> lm_engine_;
  std::unique_ptr<ClipEngine> clip_engine_;
  std::unique_ptr<DeltaWatcher> watcher_;
  std::unique_ptr<httplib::Server> http_;
  int listen_socket_ = -1;
  std::atomic<bool> draining_{false};
  std::atomic<uint64_t> ids_{0};
};

// Route helpers shared by the route files.
namespace http {
// The JSON body, or an Error naming what is wrong with it.
nlohmann::json parse_body(const httplib::Request& req);
// Error bodies: OpenAI's {"error": {message, type, param, code}} and KServe's {"error": message}.
void openai_error(httplib::Response& res, int status, const std::string& message,
                  const std::string& type, const std::string& param = "",
                  const std::string& code = "");
void kserve_error(httplib::Response& res, int status, const std::string& message);
void send_json(httplib::Response& res, const nlohmann::json& body, int status = 200);
// What the metrics record for the request being handled on this thread.
void set_metrics_model(const std::string& model);
}  // namespace http

}  // namespace vlprompt::serve
