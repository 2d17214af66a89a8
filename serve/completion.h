// One text-completion request as the serving loop sees it, and the channel its tokens go back
// through: the loop pushes, the HTTP handler waits and reads (streamed or whole).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "serve/served_delta.h"

namespace vlprompt::serve {

struct SamplingParams {
  int64_t max_tokens = 16;
  double temperature = 1.0;  // 0: greedy
  double top_p = 1.0;
  uint64_t seed = 0;
  std::vector<std::string> stop;  // generation ends before the first of these strings
  int64_t logprobs = -1;          // -1: none; N >= 0: the chosen token's and the top N's
  bool stream = false;            // text is wanted token by token (else only at the end)
};

struct TokenRecord {
  int64_t id = 0;
  double logprob = 0;                           // when logprobs were asked
  std::vector<std::pair<int64_t, double>> top;  // the N most likely, when N > 0
};

// What has been generated so far. `text` is the decoded completion, cut before a stop string;
// `ready` is how much of it can be streamed (a tail that may still become a stop string or
// finish a UTF-8 character is held back until it cannot).
struct CompletionState {
  std::vector<TokenRecord> tokens;
  std::string text;
  size_t ready = 0;
  bool finished = false;
  std::string finish_reason;  // "stop" | "length"
  std::string error;          // set when the loop failed this request
};

class Completion {
 public:
  Completion(std::shared_ptr<const ServedDelta> delta, std::vector<int64_t> prompt,
             SamplingParams params)
      : delta_(std::move(delta)), prompt_(std::move(prompt)), params_(std::move(params)) {}

  const std::shared_ptr<const ServedDelta>& delta() const { return delta_; }  // null: base
  const std::vector<int64_t>& prompt() const { return prompt_; }
  const SamplingParams& params() const { return params_; }

  // The serving loop's side.
  void update(const TokenRecord& token, std::string text, size_t ready);
  void finish(const std::string& reason, std::string final_text);
  void fail(const std::string& message);

  // The handler's side: waits until more than `seen_ready` bytes are ready, or the request
  // finished, or `deadline`; returns a copy of the state.
  CompletionState wait(size_t seen_ready, std::chrono::steady_clock::time_point deadline);
  // Asks the loop to drop the request (client gone, timeout).
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

 private:
  std::shared_ptr<const ServedDelta> delta_;
  std::vector<int64_t> prompt_;
  SamplingParams params_;
  std::mutex mutex_;
  std::condition_variable changed_;
  CompletionState state_;
  // What the waiting handler waits for: more than this many ready bytes (SIZE_MAX: only the
  // end). Updates below it wake nobody: a whole-response waiter sleeps until the last token.
  size_t wake_above_ = SIZE_MAX;
  std::atomic<bool> cancelled_{false};
};

}  // namespace vlprompt::serve
