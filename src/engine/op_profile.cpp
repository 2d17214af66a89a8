#include "src/engine/op_profile.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <tuple>

#include "src/core/gemm_trace.h"

namespace vlprompt::engine {
namespace prof = torch::autograd::profiler;

bool GemmShape::operator<(const GemmShape& o) const {
  return std::tie(batch, m, k, n) < std::tie(o.batch, o.m, o.k, o.n);
}

namespace {

bool is_gemm(const std::string& op) {
  return op == "aten::addmm" || op == "aten::mm" || op == "aten::bmm" || op == "aten::baddbmm";
}

// The product's shape from the op's input shapes: (bias,) A, B for addmm/baddbmm, A, B for mm/bmm.
bool gemm_shape(const std::string& op, const std::vector<std::vector<int64_t>>& shapes,
                GemmShape* out) {
  const size_t first = (op == "aten::addmm" || op == "aten::baddbmm") ? 1 : 0;
  if (shapes.size() < first + 2) return false;
  const auto &a = shapes[first], &b = shapes[first + 1];
  if (a.size() == 2 && b.size() == 2) {
    *out = GemmShape{1, a[0], a[1], b[1]};
    return true;
  }
  if (a.size() == 3 && b.size() == 3) {
    *out = GemmShape{a[0], a[1], a[2], b[2]};
    return true;
  }
  return false;
}

}  // namespace

double median_seconds(const std::function<void()>& fn, int warmup, int iters) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> t;
  for (int i = 0; i < std::max(1, iters); ++i) {
    const auto s = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

OpProfile profile_ops(const std::function<void()>& fn) {
  prof::enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(
      torch::profiler::impl::ProfilerState::CPU, /*report_input_shapes=*/true));
  const auto start = std::chrono::steady_clock::now();
  core::GemmTrace direct_blas;  // products that bypass ATen (e.g. attention heads)
  try {
    fn();
  } catch (...) {
    prof::disableProfilerLegacy();
    throw;
  }
  OpProfile out;
  out.profiled_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const prof::thread_event_lists lists = prof::disableProfilerLegacy();

  std::map<std::string, OpTime> by_name;
  for (const auto& events : lists) {
    // Push/pop pairs nest; a frame's self time is its span minus its children's spans.
    struct Frame {
      const prof::LegacyEvent* push;
      double children_us;
    };
    std::vector<Frame> stack;
    for (const prof::LegacyEvent& e : events) {
      if (e.kindStr() == "push") {
        stack.push_back({&e, 0.0});
      } else if (e.kindStr() == "pop" && !stack.empty()) {
        const Frame f = stack.back();
        stack.pop_back();
        const double span = f.push->cpuElapsedUs(e);
        if (!stack.empty()) stack.back().children_us += span;
        const std::string name = f.push->name();
        OpTime& t = by_name[name];
        t.name = name;
        t.seconds += (span - f.children_us) / 1e6;
        t.calls += 1;
        GemmShape g;
        if (is_gemm(name) && gemm_shape(name, f.push->shapes(), &g)) out.gemms.push_back(g);
      }
    }
  }
  for (const core::TracedGemm& g : direct_blas.calls()) out.gemms.push_back({1, g.m, g.k, g.n});
  for (auto& [name, t] : by_name) out.ops.push_back(t);
  std::sort(out.ops.begin(), out.ops.end(),
            [](const OpTime& a, const OpTime& b) { return a.seconds > b.seconds; });
  return out;
}

double blas_seconds(const std::vector<GemmShape>& gemms, int iters) {
  std::map<GemmShape, int64_t> counts;
  for (const GemmShape& g : gemms) counts[g] += 1;
  double total = 0;
  for (const auto& [g, count] : counts) {
    const bool batched = g.batch > 1;
    const at::Tensor a = batched ? at::randn({g.batch, g.m, g.k}) : at::randn({g.m, g.k});
    const at::Tensor b = batched ? at::randn({g.batch, g.k, g.n}) : at::randn({g.k, g.n});
    at::Tensor c = batched ? at::empty({g.batch, g.m, g.n}) : at::empty({g.m, g.n});
    auto run = [&] { batched ? at::bmm_out(c, a, b) : at::mm_out(c, a, b); };
    // One warm-up: first touch of the output, BLAS buffers.
    total += median_seconds(run, 1, iters) * static_cast<double>(count);
  }
  return total;
}

nlohmann::json to_json(const OpProfile& p) {
  double total = 0, gemm = 0;
  for (const OpTime& t : p.ops) {
    total += t.seconds;
    if (is_gemm(t.name)) gemm += t.seconds;
  }
  nlohmann::json ops = nlohmann::json::array();
  double other = 0;
  for (const OpTime& t : p.ops) {
    if (total > 0 && t.seconds / total < 0.005) {
      other += t.seconds;
      continue;
    }
    ops.push_back(
        {{"op", t.name}, {"s", t.seconds}, {"share", t.seconds / total}, {"calls", t.calls}});
  }
  if (other > 0) ops.push_back({{"op", "other"}, {"s", other}, {"share", other / total}});
  // Direct BLAS calls (and the profiler's own overhead) fall between the recorded ops.
  return {{"total_s", total},
          {"outside_aten_ops_s", std::max(0.0, p.profiled_seconds - total)},
          {"gemm_s", gemm},
          {"gemm_share", total > 0 ? gemm / total : 0.0},
          {"gemm_count", p.gemms.size()},
          {"ops", ops}};
}

}  // namespace vlprompt::engine
