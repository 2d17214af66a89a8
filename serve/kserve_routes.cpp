// KServe v2 / Open Inference Protocol routes for CLIP classification: GET /v2 (server metadata),
// /v2/health/live, /v2/health/ready, GET /v2/models/{NAME}[/ready], POST /v2/models/{NAME}/infer.
//
// infer takes one input: encoded image files as BYTES (base64 strings in JSON, shape [N]), or
// preprocessed pixels as FP32 [N, 3, R, R] (flat or nested data). It answers "logits" FP32
// [N, C], and the top-k "labels" BYTES [N, k] with their "probabilities" FP32 [N, k]
// (parameters.top_k, default 5). NAME is a CLIP delta, or "base" with parameters.classes (a list
// of class names, classified zero-shot with "a photo of a {}.").
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "serve/base64.h"
#include "serve/server.h"
#include "src/core/error.h"
#include "src/image/clip_preprocess.h"

namespace vlprompt::serve {
namespace {

using nlohmann::json;

// Decodes image bytes as `vlprompt predict` decodes files (same size limits and decoder).
at::Tensor image_pixels(const std::string& bytes, int64_t resolution, const std::string& where) {
  std::string path = (std::filesystem::temp_directory_path() / "vlprompt-serve-XXXXXX").string();
  const int fd = mkstemp(path.data());
  if (fd < 0) throw Error("cannot make a temporary file for " + where);
  close(fd);
  struct Remove {
    std::string path;
    ~Remove() { std::remove(path.c_str()); }
  } remove{path};
  {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  try {
    return image::load_for_clip(path, resolution);
  } catch (const std::exception& e) {
    std::string message = e.what();
    const size_t at = message.find(path);
    if (at != std::string::npos) message.replace(at, path.size(), where);
    throw Error(message);
  }
}

void flatten_numbers(const json& v, std::vector<float>& out, int depth) {
  if (depth > 8) throw Error("'data' is nested deeper than 8 levels");
  if (v.is_number()) {
    out.push_back(v.get<float>());
  } else if (v.is_array()) {
    for (const json& x : v) flatten_numbers(x, out, depth + 1);
  } else {
    throw Error("'data' holds " + v.dump().substr(0, 40) + "; expected numbers");
  }
}

// The pixels [N, 3, R, R] of the request's one input.
at::Tensor request_pixels(const json& body, int64_t resolution) {
  if (!body.contains("inputs") || !body["inputs"].is_array() || body["inputs"].size() != 1)
    throw Error("'inputs' must be a list of one tensor (BYTES images or FP32 pixels)");
  const json& input = body["inputs"][0];
  const std::string name = input.value("name", std::string("input"));
  const std::string type = input.value("datatype", std::string());
  if (!input.contains("shape") || !input["shape"].is_array())
    throw Error("input '" + name + "': 'shape' is required");
  std::vector<int64_t> shape;
  for (const json& s : input["shape"]) {
    if (!s.is_number_integer() || s.get<int64_t>() < 0)
      throw Error("input '" + name + "': 'shape' holds " + s.dump());
    shape.push_back(s.get<int64_t>());
  }
  if (!input.contains("data") || !input["data"].is_array())
    throw Error("input '" + name + "': 'data' is required");
  if (type == "BYTES") {
    if (shape.size() != 1 || shape[0] != static_cast<int64_t>(input["data"].size()) || shape[0] < 1)
      throw Error("input '" + name + "': BYTES images need shape [N] with N = the " +
                  std::to_string(input["data"].size()) + " entries of 'data'");
    std::vector<at::Tensor> images;
    for (size_t i = 0; i < input["data"].size(); ++i) {
      const json& d = input["data"][i];
      const std::string where = "input '" + name + "' image " + std::to_string(i);
      if (!d.is_string()) throw Error(where + ": expected a base64 string");
      images.push_back(image_pixels(base64_decode(d.get<std::string>(), where), resolution, where));
    }
    return at::stack(images);
  }
  if (type == "FP32") {
    if (shape.size() != 4 || shape[1] != 3 || shape[2] != resolution || shape[3] != resolution ||
        shape[0] < 1)
      throw Error("input '" + name + "': FP32 pixels need shape [N, 3, " +
                  std::to_string(resolution) + ", " + std::to_string(resolution) + "], got " +
                  input["shape"].dump());
    std::vector<float> values;
    flatten_numbers(input["data"], values, 0);
    const int64_t expected = shape[0] * 3 * resolution * resolution;
    if (static_cast<int64_t>(values.size()) != expected)
      throw Error("input '" + name + "': " + std::to_string(values.size()) + " values for shape " +
                  input["shape"].dump() + " (" + std::to_string(expected) + ")");
    const at::Tensor pixels = at::tensor(values).view(shape);
    if (!pixels.isfinite().all().item<bool>() || pixels.abs().max().item<float>() > 100)
      throw Error("input '" + name + "': pixels must be finite normalised values within +-100");
    return pixels;
  }
  throw Error("input '" + name + "': datatype '" + type + "'; expected BYTES or FP32");
}

}  // namespace

void Server::add_kserve_routes(httplib::Server& http) {
  http.Get("/v2/health/live", [](const httplib::Request&, httplib::Response& res) {
    http::send_json(res, {{"live", true}});
  });
  http.Get("/v2/health/ready", [this](const httplib::Request&, httplib::Response& res) {
    http::send_json(res, {{"ready", !draining_.load()}}, draining_ ? 503 : 200);
  });
  http.Get("/v2", [this](const httplib::Request&, httplib::Response& res) {
    http::send_json(res,
                    {{"name", "vlprompt"}, {"version", "0.3.0"}, {"extensions", json::array()}});
  });
  // The CLIP delta (or base) a path names; answers 404 and returns false when there is none.
  auto find = [this](const std::string& name, httplib::Response& res,
                     std::shared_ptr<const ServedDelta>* out) {
    http::set_metrics_model(name);
    if (!clip_) {
      http::kserve_error(res, 404, "this server holds no CLIP (start it with --model)");
      return false;
    }
    if (name == "base") return true;
    *out = registry_.find(name);
    if (!*out || (*out)->model != DeltaModel::kClip) {
      http::kserve_error(res, 404,
                         "no CLIP model '" + name + "': 'base' or a CLIP delta (GET /v1/models)");
      return false;
    }
    return true;
  };
  http.Get(R"(/v2/models/([^/]+))", [this, find](const httplib::Request& req,
                                                 httplib::Response& res) {
    std::shared_ptr<const ServedDelta> d;
    const std::string name = req.matches[1];
    if (!find(name, res, &d)) return;
    const int64_t r = clip_engine_->resolution();
    const json classes = d ? json(d->info.classnames) : json("parameters.classes");
    http::send_json(
        res,
        {{"name", name},
         {"versions", json::array({"1"})},
         {"platform", "vlprompt"},
         {"inputs",
          json::array({{{"name", "image"}, {"datatype", "BYTES"}, {"shape", {-1}}},
                       {{"name", "pixels"}, {"datatype", "FP32"}, {"shape", {-1, 3, r, r}}}})},
         {"outputs",
          json::array({{{"name", "logits"},
                        {"datatype", "FP32"},
                        {"shape", {-1, d ? static_cast<int64_t>(d->info.classnames.size()) : -1}}},
                       {{"name", "labels"}, {"datatype", "BYTES"}, {"shape", {-1, -1}}},
                       {{"name", "probabilities"}, {"datatype", "FP32"}, {"shape", {-1, -1}}}})},
         {"parameters",
          {{"method", d ? d->info.method : "zeroshot"},
           {"backbone", clip_->clip.model->config().name},
           {"classes", classes}}}});
  });
  http.Get(R"(/v2/models/([^/]+)/ready)", [this, find](const httplib::Request& req,
                                                       httplib::Response& res) {
    std::shared_ptr<const ServedDelta> d;
    if (!find(req.matches[1], res, &d)) return;
    http::send_json(res, {{"name", std::string(req.matches[1])}, {"ready", !draining_.load()}});
  });
  http.Post(R"(/v2/models/([^/]+)/infer)", [this, find](const httplib::Request& req,
                                                        httplib::Response& res) {
    std::shared_ptr<const ServedDelta> d;
    const std::string name = req.matches[1];
    if (!find(name, res, &d)) return;
    auto job = std::make_shared<ClipJob>();
    job->delta = d;
    int64_t top_k = 5;
    json body;
    try {
      body = http::parse_body(req);
      const json params = body.value("parameters", json::object());
      if (!params.is_object()) throw Error("'parameters' must be an object");
      if (params.contains("top_k")) {
        if (!params["top_k"].is_number_integer() || params["top_k"].get<int64_t>() < 1)
          throw Error("parameters.top_k must be an integer >= 1, got " + params["top_k"].dump());
        top_k = params["top_k"].get<int64_t>();
      }
      if (!d) {
        if (!params.contains("classes") || !params["classes"].is_array() ||
            params["classes"].empty())
          throw Error(
              "model 'base' classifies zero-shot: give parameters.classes, a list of class names");
        for (const json& c : params["classes"]) {
          if (!c.is_string() || c.get<std::string>().empty())
            throw Error("parameters.classes holds " + c.dump() + "; expected non-empty strings");
          job->classes.push_back(c.get<std::string>());
        }
      }
      job->pixels = request_pixels(body, clip_engine_->resolution());
    } catch (const std::exception& e) {
      http::kserve_error(res, 400, e.what());
      return;
    }
    if (!clip_engine_->submit(job)) {
      res.set_header("Retry-After", "1");
      http::kserve_error(
          res, draining_ ? 503 : 429,
          draining_ ? "the server is shutting down" : "the queue is full; retry later");
      return;
    }
    const auto until = deadline();
    if (!job->wait(until)) {
      http::kserve_error(res, 504, "inference did not finish within the server's timeout");
      return;
    }
    if (!job->error.empty()) {
      http::kserve_error(res, 500, job->error);
      return;
    }
    const at::Tensor logits = job->result.contiguous();
    const std::vector<std::string>& classes = d ? d->info.classnames : job->classes;
    const int64_t n = logits.size(0), c = logits.size(1), k = std::min<int64_t>(top_k, c);
    const auto [probs, index] = logits.softmax(-1).topk(k, 1);
    json labels = json::array(), p = json::array();
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < k; ++j) {
        labels.push_back(classes.at(index[i][j].item<int64_t>()));
        p.push_back(probs[i][j].item<float>());
      }
    }
    json out{
        {"model_name", name},
        {"model_version", "1"},
        {"outputs",
         json::array(
             {{{"name", "logits"},
               {"datatype", "FP32"},
               {"shape", {n, c}},
               {"data", std::vector<float>(logits.data_ptr<float>(),
                                           logits.data_ptr<float>() + logits.numel())}},
              {{"name", "labels"}, {"datatype", "BYTES"}, {"shape", {n, k}}, {"data", labels}},
              {{"name", "probabilities"}, {"datatype", "FP32"}, {"shape", {n, k}}, {"data", p}}})}};
    out["id"] = body.contains("id") && body["id"].is_string() ? body["id"].get<std::string>()
                                                              : next_id("infer-");
    http::send_json(res, out);
  });
}

}  // namespace vlprompt::serve
