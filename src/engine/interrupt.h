// Ctrl-C during training. The signal handler only sets a flag (nothing else is safe inside a
// handler); the Trainer looks at it after each batch, stops there and keeps the last completed
// epoch's checkpoint. A second Ctrl-C restores the default action and kills the process, for a
// run stuck inside one long batch.
#pragma once

#include <memory>

namespace vlprompt::engine {

bool interrupt_requested();
// What the SIGINT handler does; also lets a caller (or a test) stop a run cleanly.
void request_interrupt();
void clear_interrupt();

// Installs the SIGINT handler for its scope and restores the previous one on exit; the request
// flag is cleared on entry and on exit.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct Saved;
  std::unique_ptr<Saved> saved_;  // the previous sigaction; opaque: <signal.h> stays out of here
};

}  // namespace vlprompt::engine
