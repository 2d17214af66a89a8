#include "src/core/torch_save.h"

#include <filesystem>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/pickle_writer.h"
#include "src/core/zip_writer.h"

namespace vlprompt::core {

std::string torch_archive_name(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  const size_t dot = name.find_last_of('.');
  if (dot != std::string::npos) name = name.substr(0, dot);
  return name.empty() ? "archive" : name;
}

std::string torch_save_bytes(const PickleRef& root, const std::string& archive_name) {
  Pickled pickled = pickle_protocol2(root);
  const std::string folder = archive_name + "/";
  std::vector<ZipRecord> records;
  records.push_back({folder + "data.pkl", std::move(pickled.bytes)});
  for (const PickledStorage& s : pickled.storages) {
    const auto* bytes = static_cast<const char*>(s.tensor.data_ptr());
    records.push_back({folder + "data/" + s.key, std::string(bytes, s.tensor.nbytes())});
  }
  // The file-format version torch 1.13 writes for torch.save archives.
  records.push_back({folder + "version", "3\n"});
  return zip_stored(records);
}

void torch_save(const std::string& path, const PickleRef& root) {
  std::string bytes;
  try {
    bytes = torch_save_bytes(root, torch_archive_name(path));
  } catch (const FileError&) {
    throw;
  } catch (const Error& e) {
    throw FileError(path, e.what());
  }
  atomic_write(path, bytes);
}

}  // namespace vlprompt::core
