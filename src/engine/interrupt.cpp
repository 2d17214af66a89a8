#include "src/engine/interrupt.h"

#include <signal.h>

#include <csignal>

namespace vlprompt::engine {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_sigint(int) {
  if (g_interrupted) {
    std::signal(SIGINT, SIG_DFL);  // second Ctrl-C: the user wants out now
    std::raise(SIGINT);
    return;
  }
  g_interrupted = 1;
}

}  // namespace

bool interrupt_requested() { return g_interrupted != 0; }
void request_interrupt() { g_interrupted = 1; }
void clear_interrupt() { g_interrupted = 0; }

struct InterruptGuard::Saved {
  struct sigaction action;
};

InterruptGuard::InterruptGuard() : saved_(std::make_unique<Saved>()) {
  clear_interrupt();
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &saved_->action);
}

InterruptGuard::~InterruptGuard() { sigaction(SIGINT, &saved_->action, nullptr); }

}  // namespace vlprompt::engine
