// A Delta owns small trainable tensors and fills a frozen backbone's sites (nn::DeltaSites); it
// never changes backbone code. Deltas are torch modules, so their tensors are registered
// parameters/buffers and the delta file holds exactly named_parameters().
#pragma once

#include <torch/nn/module.h>

#include <map>
#include <memory>
#include <string>

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

 private:
  std::string method_;
};

}  // namespace vlprompt::delta
