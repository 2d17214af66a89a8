// Dassl's checkpoint files, the ones the official CoOp / CoCoOp (and DAPL, MaPLe) trainers write
// through dassl.utils.save_checkpoint: `model.pth.tar-N` and `model-best.pth.tar`, torch.save
// archives of {state_dict, epoch, optimizer, scheduler, val_result}.
//
// Reading goes through the restricted unpickler (src/core/torch_archive.h) with its allow-list
// grown by what these files pickle beside the tensors: the optimizer and the (Dassl warm-up)
// scheduler objects, kept as inert records whose code never runs. Only `state_dict` and `epoch`
// are used. Writing produces the dict Dassl's load_checkpoint and the trainers' load_model read.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

namespace vlprompt::prompts::official {

// A state dict in the order the file (or PyTorch's state_dict()) lists it.
using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

struct DasslCheckpoint {
  std::string path;
  StateDict state_dict;
  int64_t epoch = -1;  // -1 when the file holds none

  const at::Tensor* find(const std::string& key) const;  // null when absent
};

// Throws FileError naming the file: not a torch.save archive, truncated or corrupt, a global off
// the allow-list (the error names it; nothing is run), no dict with a `state_dict` of tensors.
DasslCheckpoint read_dassl_checkpoint(const std::string& path);

// One dimension of an expected shape: a size, or any size (-1) shown by its name ("n_ctx").
struct Dim {
  int64_t size;
  std::string name;
  Dim(int64_t s) : size(s), name(std::to_string(s)) {}  // NOLINT: sizes read as Dims
  Dim(int64_t s, std::string n) : size(s), name(std::move(n)) {}
};

// state_dict[key] as float32 on the CPU, its shape checked against `shape`; a missing key or a
// shape that differs is a FileError naming the file, the key, both shapes and `method`.
at::Tensor state_tensor(const DasslCheckpoint& checkpoint, const std::string& key,
                        const std::vector<Dim>& shape, const std::string& method);

// Refuses a state dict holding keys outside `known` (another method's checkpoint), naming them.
void check_state_keys(const DasslCheckpoint& checkpoint, const std::vector<std::string>& known,
                      const std::string& method);

// Writes {state_dict (an OrderedDict), epoch, optimizer: None, scheduler: None, val_result: None}
// in torch.save's format, atomically: what Dassl's save_checkpoint writes, less the optimizer and
// scheduler state (load_model reads neither).
void write_dassl_checkpoint(const std::string& path, const StateDict& state_dict, int64_t epoch);

}  // namespace vlprompt::prompts::official
