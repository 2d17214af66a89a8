#include "serve/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>

#include "serve/delta_watcher.h"
#include "src/core/device.h"
#include "src/core/error.h"

namespace vlprompt::serve {
namespace {

// What the logger (called after a response is written, on the thread that handled it) records.
thread_local std::chrono::steady_clock::time_point request_start;
thread_local std::string request_model;

// Route templates for the metrics' route label (paths hold model names).
std::string route_of(const std::string& path) {
  const std::string models = "/v2/models/";
  if (path.compare(0, models.size(), models) == 0) {
    const size_t slash = path.find('/', models.size());
    return slash == std::string::npos ? "/v2/models/{name}"
                                      : "/v2/models/{name}" + path.substr(slash);
  }
  for (const char* known : {"/v1/completions", "/v1/models", "/v1/embeddings", "/v1/classify",
                            "/v2/health/live", "/v2/health/ready", "/v2", "/metrics"})
    if (path == known) return path;
  return "other";
}

bool is_health(const std::string& path) { return path.compare(0, 11, "/v2/health/") == 0; }
bool is_kserve(const std::string& path) { return path.compare(0, 3, "/v2") == 0; }

}  // namespace

namespace http {

nlohmann::json parse_body(const httplib::Request& req) {
  if (req.body.empty()) throw Error("the request has no body; expected a JSON object");
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(req.body);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(std::string("the body is not valid JSON: ") + e.what());
  }
  if (!body.is_object())
    throw Error("the body must be a JSON object, got " + std::string(body.type_name()));
  return body;
}

void send_json(httplib::Response& res, const nlohmann::json& body, int status) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void openai_error(httplib::Response& res, int status, const std::string& message,
                  const std::string& type, const std::string& param, const std::string& code) {
  nlohmann::json error{{"message", message}, {"type", type}};
  error["param"] = param.empty() ? nlohmann::json() : nlohmann::json(param);
  error["code"] = code.empty() ? nlohmann::json() : nlohmann::json(code);
  send_json(res, {{"error", error}}, status);
}

void kserve_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, {{"error", message}}, status);
}

void set_metrics_model(const std::string& model) { request_model = model; }

}  // namespace http

Server::Server(ServerOptions options) : options_(std::move(options)) {
  if (options_.lm_model.empty() && options_.clip.model.empty())
    throw Error("serve: give --model (a CLIP) or --lm-model (a LLaMA folder), or both");
  const at::Device device = core::parse_device(options_.device);
  if (!options_.lm_model.empty()) {
    lm_ = std::make_unique<pipeline::LmBundle>(pipeline::load_lm_bundle(options_.lm_model));
    lm_->model->to(device);
    lm_->model->eval();
  }
  if (!options_.clip.model.empty()) {
    clip_ = std::make_unique<pipeline::ModelBundle>(pipeline::load_model_bundle(options_.clip));
    clip_->clip.model->to(device);
    clip_->clip.model->eval();
  }
  const FrozenModels models{lm_.get(), clip_.get()};
  std::set<std::string> fixed;
  for (const auto& [name, path] : options_.deltas) {
    check_delta_name(name, "--delta " + name + "=" + path);
    if (!fixed.insert(name).second) throw Error("--delta: the name '" + name + "' is given twice");
    registry_.put(load_served_delta(name, path, models));
  }
  if (!options_.delta_dir.empty())
    watcher_ = std::make_unique<DeltaWatcher>(options_.delta_dir, options_.watch_interval_ms,
                                              registry_, models, &metrics_, fixed);
  if (lm_) {
    lm_engine_ = std::make_unique<LmEngine>(
        *lm_,
        LmEngineOptions{options_.max_batch, options_.max_wait_ms, options_.max_queue,
                        options_.mix_deltas, options_.threads},
        &metrics_);
    metrics_.add_gauge("vlprompt_lm_queue_depth", "Completion requests waiting to start.",
                       [this] { return static_cast<double>(lm_engine_->queued()); });
    metrics_.add_gauge("vlprompt_lm_running", "Completions being generated.",
                       [this] { return static_cast<double>(lm_engine_->running()); });
  }
  if (clip_) {
    ClipEngineOptions clip_options;
    clip_options.max_batch = options_.max_batch;
    clip_options.max_wait_ms = options_.max_wait_ms;
    clip_options.max_queue = options_.max_queue;
    clip_options.threads = options_.threads;
    clip_engine_ = std::make_unique<ClipEngine>(*clip_, clip_options, &metrics_);
    metrics_.add_gauge("vlprompt_clip_queue_depth", "CLIP requests waiting for a pass.",
                       [this] { return static_cast<double>(clip_engine_->queued()); });
  }
  metrics_.add_gauge("vlprompt_deltas_loaded", "Deltas being served.",
                     [this] { return static_cast<double>(registry_.list().size()); });
  http_ = std::make_unique<httplib::Server>();
  add_routes();
}

Server::~Server() {
  watcher_.reset();
  if (lm_engine_) lm_engine_->drain();
  if (clip_engine_) clip_engine_->drain();
}

std::string Server::next_id(const std::string& prefix) { return prefix + std::to_string(++ids_); }

void Server::add_routes() {
  httplib::Server& http = *http_;
  const size_t threads = static_cast<size_t>(std::max<int64_t>(1, options_.http_threads));
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(options_.max_body_bytes);
  // The library listens with a backlog of 5, compiled in: 64 clients connecting at once lose
  // SYNs and wait out the kernel's 1 s + 2 s retransmits (measured: p99 3 s under wrk). Keep the
  // socket to raise its backlog once bound (listen() again on a listening socket only resizes it).
  // SO_REUSEADDR (a restarted server rebinds past TIME_WAIT) but not the library's default
  // SO_REUSEPORT, with which a second server on the same port would silently share its traffic
  // instead of failing to bind.
  http.set_socket_options([this](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_socket_ = sock;
  });
  http.set_read_timeout(30, 0);
  http.set_write_timeout(30, 0);
  http.set_keep_alive_max_count(1000);
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    request_start = std::chrono::steady_clock::now();
    request_model.clear();
    if (!options_.api_key.empty() && !is_health(req.path) &&
        req.get_header_value("Authorization") != "Bearer " + options_.api_key) {
      const std::string message =
          "missing or wrong API key: send the header 'Authorization: Bearer <key>'";
      if (is_kserve(req.path))
        http::kserve_error(res, 401, message);
      else
        http::openai_error(res, 401, message, "invalid_request_error", "", "invalid_api_key");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (draining_ && !is_health(req.path) && req.path != "/metrics") {
      res.set_header("Connection", "close");
      const std::string message = "the server is shutting down; retry on another instance";
      if (is_kserve(req.path))
        http::kserve_error(res, 503, message);
      else
        http::openai_error(res, 503, message, "server_error");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Statuses the library sets itself (404 no route, 413 body too large, 400 bad request) get the
  // API's error body.
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string message = "HTTP " + std::to_string(res.status);
        if (res.status == 404) message = "no route " + req.method + " " + req.path;
        if (res.status == 413) message = "the request body is larger than the server's limit";
        if (is_kserve(req.path))
          http::kserve_error(res, res.status, message);
        else
          http::openai_error(res, res.status, message, "invalid_request_error");
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string message = "internal error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          message = e.what();
        } catch (...) {
        }
        if (is_kserve(req.path))
          http::kserve_error(res, 500, message);
        else
          http::openai_error(res, 500, message, "server_error");
      });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - request_start).count();
    metrics_.count_request(route_of(req.path), request_model, res.status, seconds);
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(), "text/plain; version=0.0.4");
  });
  add_openai_routes(http);
  add_kserve_routes(http);
  add_classify_route(http);
}

int Server::bind() {
  const int port = options_.port == 0
                       ? http_->bind_to_any_port(options_.host)
                       : (http_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port < 0)
    throw Error("serve: cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                " (in use, or not an address of this machine)");
  if (listen_socket_ >= 0 && ::listen(listen_socket_, SOMAXCONN) != 0)
    throw Error("serve: cannot raise the listen backlog of " + options_.host + ":" +
                std::to_string(port) + ": " + std::strerror(errno));
  return port;
}

void Server::run() {
  http_->listen_after_bind();
  // The listener stopped (shutdown): every connection it accepted has been answered; the loops
  // have nothing left, but drain them anyway so that no accepted request is dropped.
  watcher_.reset();
  if (lm_engine_) lm_engine_->drain();
  if (clip_engine_) clip_engine_->drain();
}

void Server::shutdown() {
  draining_ = true;
  http_->stop();
}

}  // namespace vlprompt::serve
