// IDX files (MNIST-style images and labels, plain or gzipped).
#include "datasets/idx.h"
#include "src/core/error.h"
#include "tests/fuzz/fuzz_target.h"

namespace fz = vlprompt::fuzz;
namespace ds = vlprompt::datasets;

VLPROMPT_FUZZ_TARGET(idx) {
  const std::string path = fz::write_input(data, size, "input-idx-ubyte");
  try {
    const at::Tensor images = ds::read_idx_images(path);
    if (images.dim() != 3 || images.scalar_type() != at::kByte) fz::fail("images not [N, H, W] u8");
  } catch (const vlprompt::Error&) {
  }
  const at::Tensor labels = ds::read_idx_labels(path);
  if (labels.dim() != 1) fz::fail("labels not 1-d");
}
