// NumPy .npy files (feature caches, reference arrays): magic, version, header dict, shape, dtype.
#include <ATen/ATen.h>

#include "src/core/npy.h"
#include "tests/fuzz/fuzz_target.h"

namespace fz = vlprompt::fuzz;
namespace core = vlprompt::core;

VLPROMPT_FUZZ_TARGET(npy) {
  const std::string path = fz::write_input(data, size, "input.npy");
  const at::Tensor t = core::read_npy(path);
  // What was accepted writes back and reads back the same (NaN compares equal to itself here).
  core::write_npy(path, t);
  const at::Tensor again = core::read_npy(path);
  const bool same = again.scalar_type() == t.scalar_type() && again.sizes() == t.sizes() &&
                    (t.is_floating_point() ? at::equal(at::isnan(again), at::isnan(t)) &&
                                                 at::equal(at::nan_to_num(again), at::nan_to_num(t))
                                           : at::equal(again, t));
  if (!same) fz::fail("npy round trip changed the array");
}
