// The text-LM serving loop: continuous batching across deltas on one frozen LLaMA-family model.
//
// One thread owns the model. Requests wait in a bounded queue; each is prefilled alone with its
// delta's sites (prompt, prefix, P-tuning tokens enter its cache there), then joins the running
// batch, where every step decodes one token for every row in one forward pass, each row with its
// own delta's module-level sites (delta::MixedRowSites: LoRA, IA3, adapters, BitFit) and its own
// sampling parameters and seeded generator. A row leaves when it finishes and its place is taken
// at the next step, so a request's tokens equal those of the same request served alone.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "pipeline/lm_bundle.h"
#include "serve/completion.h"
#include "serve/metrics.h"
#include "src/delta/mixed_token_sites.h"

namespace vlprompt::serve {

struct LmEngineOptions {
  int64_t max_batch = 32;   // rows decoded together
  int64_t max_wait_ms = 2;  // an idle loop waits this long for more requests before starting
  int64_t max_queue = 256;  // requests waiting beyond this are refused (HTTP 429)
  // false: the one-delta-at-a-time baseline (a batch holds one delta's rows; others wait).
  bool mix_deltas = true;
  int64_t threads = 0;  // compute threads of the loop (0: LibTorch's default)
};

class LmEngine {
 public:
  LmEngine(pipeline::LmBundle& lm, LmEngineOptions options, Metrics* metrics);
  ~LmEngine();
  LmEngine(const LmEngine&) = delete;
  LmEngine& operator=(const LmEngine&) = delete;

  // Queues a request; false when max_queue requests are waiting or the loop is draining.
  bool submit(std::shared_ptr<Completion> job);
  // Queues work that needs the model but is not a completion (rank classification): it runs on
  // the loop's thread between decoding steps. Same bound and refusals as submit().
  bool submit_task(std::function<void()> task);
  // Stops taking requests, finishes every accepted one, and ends the loop's thread.
  void drain();

  int64_t queued() const;
  int64_t running() const { return running_; }

 private:
  struct Row;
  void loop();
  // Moves what may start now from the queue (under the lock).
  std::vector<std::shared_ptr<Completion>> admit(int64_t room);
  // Prefills the starting requests, one pass per token shape (delta::token_shape), and moves
  // those not finished by their first token into the running batch.
  void prefill(const std::vector<std::shared_ptr<Completion>>& jobs);
  void prefill_group(const delta::TokenShape& shape,
                     const std::vector<std::shared_ptr<Completion>>& jobs);
  void decode();
  // Picks row's next token from its logits [vocab] and reports it; true when the row is done.
  bool emit(Row& row, const at::Tensor& logits);

  pipeline::LmBundle& lm_;
  LmEngineOptions options_;
  Metrics* metrics_;

  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<std::shared_ptr<Completion>> queue_;
  std::deque<std::function<void()>> tasks_;
  bool draining_ = false;

  // The running batch (rows, their cache, their mixed sites): the loop's thread only.
  struct Batch;
  std::unique_ptr<Batch> batch_;
  std::atomic<int64_t> running_{0};
  std::thread thread_;
};

}  // namespace vlprompt::serve
