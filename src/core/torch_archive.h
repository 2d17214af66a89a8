// PyTorch's zip archives (torch.save() files and TorchScript .pt files) read as data: data.pkl
// through the restricted unpickler with an allow-list of torch's tensor-rebuilding globals,
// tensors copied out of their storage records with every size, stride and offset checked.
// Nothing in an archive is executed; TorchScript code records are never read.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "src/core/pickle.h"

namespace vlprompt::core {

struct TorchArchive {
  std::vector<std::string> records;  // record names inside the archive's folder
  PickleRef root;                    // data.pkl's value, tensors already built
};

// `torchscript_objects` allows NEWOBJ of "__torch__.*" classes (TorchScript modules), built as
// inert records holding their attribute dict. Throws FileError naming the path and the cause.
TorchArchive read_torch_archive(const std::string& path, bool torchscript_objects);

// What a caller's archives may hold beyond torch's tensor rebuilding (e.g. a training checkpoint's
// optimizer and scheduler): classes NEWOBJ may build as inert records (their state kept as data,
// no code of theirs run) and functions whose REDUCE the caller turns into a plain value.
struct ArchiveAllowList {
  std::vector<std::string> inert_classes;                   // "torch.optim.sgd.SGD"
  std::map<std::string, UnpicklerRules::Reducer> reducers;  // "collections.defaultdict"
};
TorchArchive read_torch_archive(const std::string& path, const ArchiveAllowList& allow);

// The record names of a PyTorch archive (without its folder: "data.pkl", "code/...") after the
// same checks read_torch_archive makes of the zip; nothing is unpickled.
std::vector<std::string> torch_archive_records(const std::string& path);

bool has_record(const TorchArchive& archive, const std::string& name);

}  // namespace vlprompt::core
