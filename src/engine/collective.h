// What the Trainer needs of a data-parallel process group, and nothing more (the engine links no
// transport; src/distributed/ implements it on PyTorch's c10d). A Trainer given one trains its
// rank's shard of every global batch and sums the shards' weighted gradients before each step.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace vlprompt::engine {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int64_t rank() const = 0;
  virtual int64_t world_size() const = 0;
  // Sums the float tensor `flat` over every rank, in place (one all-reduce: the caller buckets).
  // An Error naming this rank when the others cannot be reached (a rank died, a timeout).
  virtual void all_reduce_sum(at::Tensor& flat) = 0;
};

}  // namespace vlprompt::engine
