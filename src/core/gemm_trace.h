// Matrix products run outside ATen's dispatcher (direct BLAS calls, see src/nn/blas_gemm.h) are
// invisible to LibTorch's profiler; they report their shapes here while a trace is active, so a
// benchmark can time the BLAS on exactly the GEMMs a pass ran.
#pragma once

#include <cstdint>
#include <vector>

namespace vlprompt::core {

struct TracedGemm {
  int64_t m = 0, k = 0, n = 0;
};

// Records one product when a GemmTrace is active (any thread); a relaxed atomic load otherwise.
void trace_gemm(int64_t m, int64_t k, int64_t n);

// Collects the products traced between construction and calls(). One at a time.
class GemmTrace {
 public:
  GemmTrace();
  ~GemmTrace();
  GemmTrace(const GemmTrace&) = delete;
  GemmTrace& operator=(const GemmTrace&) = delete;
  std::vector<TracedGemm> calls() const;
};

}  // namespace vlprompt::core
