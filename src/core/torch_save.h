// Python's torch.save(obj, path) format, written from C++: a zip archive (stored, records 64-byte
// aligned) whose folder is the archive name torch derives from the file name, holding data.pkl
// (a protocol-2 pickle, src/core/pickle_writer.h), one record data/<key> per tensor storage, and
// version ("3"). torch.load, and so Dassl's load_checkpoint, reads it; so does read_torch_archive.
#pragma once

#include <string>

#include "src/core/pickle.h"

namespace vlprompt::core {

// The folder torch's writer puts records in: the file's base name less its last extension
// ("out/model.pth.tar-50" -> "model.pth", "x.pt" -> "x").
std::string torch_archive_name(const std::string& path);

// The archive's bytes, records under `archive_name`/.
std::string torch_save_bytes(const PickleRef& root, const std::string& archive_name);

// Writes `root` to `path` atomically (temporary file, then rename).
void torch_save(const std::string& path, const PickleRef& root);

}  // namespace vlprompt::core
