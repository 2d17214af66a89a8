#include "serve/completion.h"

namespace vlprompt::serve {

void Completion::update(const TokenRecord& token, std::string text, size_t ready) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_.tokens.push_back(token);
    state_.text = std::move(text);
    state_.ready = ready;
    wake = wake_above_ != SIZE_MAX && ready > wake_above_;
  }
  if (wake) changed_.notify_all();
}

void Completion::finish(const std::string& reason, std::string final_text) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_.text = std::move(final_text);
    state_.ready = state_.text.size();
    state_.finished = true;
    state_.finish_reason = reason;
  }
  changed_.notify_all();
}

void Completion::fail(const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_.finished = true;
    state_.error = message;
  }
  changed_.notify_all();
}

CompletionState Completion::wait(size_t seen_ready,
                                 std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_above_ = seen_ready;
  changed_.wait_until(lock, deadline, [&] { return state_.finished || state_.ready > seen_ready; });
  return state_;
}

}  // namespace vlprompt::serve
