// The restricted unpickler with torch's rules (tensor rebuilding from storages, OrderedDict,
// TorchScript records): the input is data.pkl, wrapped in a well-formed archive that holds two
// storages, so every mutation reaches the unpickler rather than dying in the zip directory.
#include "src/core/file_io.h"
#include "src/core/torch_archive.h"
#include "src/core/zip_writer.h"
#include "tests/fuzz/fuzz_target.h"

namespace fz = vlprompt::fuzz;
namespace core = vlprompt::core;

VLPROMPT_FUZZ_TARGET(torch_pickle) {
  const std::string pickle(reinterpret_cast<const char*>(data), size);
  const std::string archive = core::zip_stored({{"archive/data.pkl", pickle},
                                                {"archive/data/0", std::string(64, '\x01')},
                                                {"archive/data/1", std::string(3, '\x02')},
                                                {"archive/version", "3\n"}});
  const std::string path =
      fz::write_input(reinterpret_cast<const uint8_t*>(archive.data()), archive.size(), "input.pt");
  core::read_torch_archive(path, size > 0 && (data[size - 1] & 1));
}
