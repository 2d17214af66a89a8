// The CLIP serving loop: image classification (KServe v2 infer) and text embeddings, batched
// across deltas on one frozen CLIP.
//
// One thread owns the model. Every infer request waiting when a pass starts joins it: the images
// of requests whose delta leaves the image tower alone (CoOp, CoCoOp, KgCoOp, DAPL, linear probe,
// base zero-shot) go through the image tower in one pass, then each delta classifies its own rows
// from those features; an image-side delta (VPT, MaPLe, IVLP, ...) runs its rows in one pass of
// its own. Embedding requests are encoded together in one text pass.
#pragma once

#include <ATen/ATen.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/model_loading.h"
#include "serve/metrics.h"
#include "serve/served_delta.h"

namespace vlprompt::serve {

// A request waiting for its answer (the loop fills it, the handler waits).
struct ClipJob {
  enum class Kind { kInfer, kEmbed } kind = Kind::kInfer;
  std::shared_ptr<const ServedDelta> delta;  // null: base
  at::Tensor pixels;                         // infer: [N, 3, R, R]
  std::vector<std::string> classes;          // infer on base: zero-shot classes
  std::vector<std::string> texts;            // embed

  void done(at::Tensor result, std::string error);
  // Waits until done or `deadline`; false on timeout.
  bool wait(std::chrono::steady_clock::time_point deadline);
  at::Tensor result;  // infer: logits [N, C]; embed: unit-norm [N, D]
  std::string error;
  bool cancelled = false;

 private:
  std::mutex mutex_;
  std::condition_variable finished_;
  bool done_ = false;
};

struct ClipEngineOptions {
  int64_t max_batch = 64;  // images per pass
  int64_t max_wait_ms = 2;
  int64_t max_queue = 256;
  std::string text_template = "a photo of a {}.";  // base zero-shot
  int64_t threads = 0;                             // as LmEngineOptions::threads
};

class ClipEngine {
 public:
  ClipEngine(pipeline::ModelBundle& clip, ClipEngineOptions options, Metrics* metrics);
  ~ClipEngine();
  ClipEngine(const ClipEngine&) = delete;
  ClipEngine& operator=(const ClipEngine&) = delete;

  bool submit(std::shared_ptr<ClipJob> job);
  void drain();
  int64_t queued() const;
  int64_t resolution() const;

 private:
  void loop();
  void run_infer(const std::vector<std::shared_ptr<ClipJob>>& jobs);
  void run_embed(const std::vector<std::shared_ptr<ClipJob>>& jobs);
  // Unit-norm text features of `classes` under the base template (cached by class list).
  at::Tensor zeroshot_weights(const std::vector<std::string>& classes);

  pipeline::ModelBundle& clip_;
  ClipEngineOptions options_;
  Metrics* metrics_;
  std::map<std::vector<std::string>, at::Tensor> zeroshot_cache_;

  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<std::shared_ptr<ClipJob>> queue_;
  bool draining_ = false;
  std::thread thread_;
};

}  // namespace vlprompt::serve
