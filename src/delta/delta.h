// A Delta owns small trainable tensors and fills a frozen backbone's sites (nn::DeltaSites); it
// never changes backbone code. Deltas are torch modules, so their tensors are registered
// parameters/buffers; the delta file holds exactly their parameters (never a backbone tensor, so a
// delta must not register the backbone it reads from as a submodule).
#pragma once

#include <torch/nn/module.h>

#include <map>
#include <memory>
#include <string>

#include "src/core/safetensors.h"
#include "src/nn/delta_sites.h"

namespace vlprompt::delta {

// Which tower a set of sites is for. A delta may serve one or both.
enum class Tower { kText, kImage };

class Delta : public torch::nn::Module {
 public:
  explicit Delta(std::string method) : method_(std::move(method)) {}
  const std::string& method() const { return method_; }

  // Sites for one tower's forward pass, or nullptr when this delta does not touch that tower.
  // The returned object is valid until the next call on this delta.
  virtual nn::DeltaSites* sites(Tower tower) = 0;

  // Hyper-parameters that define the delta's shape (n_ctx, csc, position, ...), as strings;
  // stored in the delta file's metadata and needed to rebuild it.
  virtual std::map<std::string, std::string> hyperparameters() const = 0;

  // The delta's parameters as the delta file names them, "<member>.<param>". A lone delta is its
  // own member, named after its method ("coop.ctx"); a DeltaStack names its members. The tensors
  // are the parameters themselves (not copies).
  virtual core::TensorMap named_tensors() const;

  // Copies `tensors` (named as named_tensors() names them) into this delta's parameters. A
  // missing, unexpected or mis-shaped tensor is a FileError naming `source` and the tensor.
  void load_named_tensors(const core::TensorMap& tensors, const std::string& source);

 private:
  std::string method_;
};

}  // namespace vlprompt::delta
