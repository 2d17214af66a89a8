// Where a forward pass spends its time, per ATen op (self time, children excluded), and how long
// the BLAS alone takes on the very GEMMs the pass ran: "near the BLAS" is then a measured ratio,
// for any architecture, instead of a FLOP estimate against one favourable matmul shape.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vlprompt::engine {

struct OpTime {
  std::string name;  // "aten::addmm"
  double seconds = 0;
  int64_t calls = 0;
};

// One matrix product the pass ran: C[batch, m, n] = A[batch, m, k] B[batch, k, n].
struct GemmShape {
  int64_t batch = 1, m = 0, k = 0, n = 0;
  bool operator<(const GemmShape& o) const;
  double flop() const { return 2.0 * batch * m * k * n; }
};

struct OpProfile {
  double profiled_seconds = 0;   // wall time of the profiled run (profiler overhead included)
  std::vector<OpTime> ops;       // by self time, largest first
  std::vector<GemmShape> gemms;  // every addmm / mm / bmm / baddbmm, in call order
};

// Runs `fn` `warmup` times untimed, then `iters` times; returns the median seconds per run.
double median_seconds(const std::function<void()>& fn, int warmup, int iters);

// Runs `fn` once under LibTorch's profiler (on this thread) and sums self time per op.
OpProfile profile_ops(const std::function<void()>& fn);

// Seconds the BLAS takes for all of `gemms`, each shape timed bare (contiguous operands, output
// preallocated; median of `iters`).
double blas_seconds(const std::vector<GemmShape>& gemms, int iters);

// {"total_s", "ops": [{"op", "s", "share", "calls"}...], "gemm_s", "gemm_share"}; ops below 0.5%
// are summed into "other".
nlohmann::json to_json(const OpProfile& profile);

}  // namespace vlprompt::engine
