// PyTorch zip archives (torch.save files, TorchScript .pt files) as raw bytes: the zip directory,
// record sizes and offsets, then data.pkl through the restricted unpickler.
#include "src/core/torch_archive.h"
#include "tests/fuzz/fuzz_target.h"

namespace fz = vlprompt::fuzz;
namespace core = vlprompt::core;

VLPROMPT_FUZZ_TARGET(torch_archive) {
  const std::string path = fz::write_input(data, size, "input.pt");
  // The first byte picks the rules, so both the checkpoint and the TorchScript paths are reached.
  const bool torchscript = size > 0 && (data[0] & 1);
  core::read_torch_archive(path, torchscript);
}
