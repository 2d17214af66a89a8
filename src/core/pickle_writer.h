// Writes a PickleValue tree as a protocol-2 pickle, the protocol torch.save uses, so that Python's
// pickle and torch.load read it back. Tensors become torch's persistent storage references
// (torch._utils._rebuild_tensor_v2 over ('storage', torch.<Type>Storage, key, 'cpu', numel));
// their bytes are returned for the caller to store as records. Only plain data is written:
// globals and objects are refused, so a written file never asks its reader to run anything but
// torch's tensor rebuilding and collections.OrderedDict.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "src/core/pickle.h"

namespace vlprompt::core {

struct PickledStorage {
  std::string key;    // "0", "1", ... in the order the tensors are met
  at::Tensor tensor;  // contiguous, on the CPU: its bytes are the record
};

struct Pickled {
  std::string bytes;
  std::vector<PickledStorage> storages;
};

// None, Bool, Int, Float, String, List, Tuple, Dict (written as collections.OrderedDict when its
// class_name says so) and Tensor values; anything else is an Error naming its kind and where in
// the tree it sits.
Pickled pickle_protocol2(const PickleRef& root);

}  // namespace vlprompt::core
