#include "src/delta/delta.h"

#include <vector>

#include "src/core/error.h"

namespace vlprompt::delta {

std::string tower_name(Tower tower) { return tower == Tower::kText ? "text" : "image"; }

core::TensorMap Delta::named_tensors() const {
  core::TensorMap out;
  for (const auto& p : named_parameters(/*recurse=*/true)) out[method_ + "." + p.key()] = p.value();
  return out;
}

void Delta::load_named_tensors(const core::TensorMap& tensors, const std::string& source) {
  const core::TensorMap targets = named_tensors();
  std::vector<std::string> problems;
  for (const auto& [name, target] : targets) {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      problems.push_back("tensor '" + name + "' is missing (the " + method_ +
                         " delta expects shape " + c10::str(target.sizes()) + ")");
    } else if (it->second.sizes() != target.sizes()) {
      problems.push_back("tensor '" + name + "' has shape " + c10::str(it->second.sizes()) +
                         ", the " + method_ + " delta expects " + c10::str(target.sizes()));
    } else if (!at::isFloatingType(it->second.scalar_type())) {
      problems.push_back("tensor '" + name + "' has dtype " +
                         std::string(c10::toString(it->second.scalar_type())) +
                         ", expected a floating-point tensor");
    }
  }
  for (const auto& [name, tensor] : tensors) {
    if (!targets.count(name)) {
      std::string known;
      for (const auto& [n, t] : targets) known += (known.empty() ? "" : ", ") + n;
      problems.push_back("unexpected tensor '" + name + "' (the " + method_ +
                         " delta has: " + known + ")");
    }
  }
  if (!problems.empty()) {
    std::string message = problems.front();
    for (size_t i = 1; i < problems.size(); ++i) message += "; " + problems[i];
    throw FileError(source, message);
  }
  at::NoGradGuard no_grad;
  for (const auto& [name, target] : targets) {
    // copy_ converts dtype and device, so an fp16 file loads into an fp32 delta.
    target.copy_(tensors.at(name));
  }
}

}  // namespace vlprompt::delta
