#include "src/core/gemm_trace.h"

#include <atomic>
#include <mutex>

namespace vlprompt::core {
namespace {
std::atomic<bool> active{false};
std::mutex mutex;
std::vector<TracedGemm>& recorded() {
  static std::vector<TracedGemm> calls;
  return calls;
}
}  // namespace

void trace_gemm(int64_t m, int64_t k, int64_t n) {
  if (!active.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lock(mutex);
  recorded().push_back({m, k, n});
}

GemmTrace::GemmTrace() {
  std::lock_guard<std::mutex> lock(mutex);
  recorded().clear();
  active.store(true);
}

GemmTrace::~GemmTrace() { active.store(false); }

std::vector<TracedGemm> GemmTrace::calls() const {
  std::lock_guard<std::mutex> lock(mutex);
  return recorded();
}

}  // namespace vlprompt::core
