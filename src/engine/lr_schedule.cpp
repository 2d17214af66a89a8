#include "src/engine/lr_schedule.h"

#include <cmath>

#include "src/core/error.h"

namespace vlprompt::engine {

LrSchedule::LrSchedule(ScheduleOptions options, double base_lr, int64_t max_epoch)
    : options_(std::move(options)), base_lr_(base_lr), max_epoch_(max_epoch) {
  if (options_.name() != "cosine" && options_.name() != "constant") {
    throw Error("lr schedule: unknown name '" + options_.name() + "'; expected cosine or constant");
  }
  if (max_epoch < 1)
    throw Error("lr schedule: max_epoch must be >= 1, got " + std::to_string(max_epoch));
  if (options_.warmup_epochs() < 0) {
    throw Error("lr schedule: warmup_epochs must be >= 0, got " +
                std::to_string(options_.warmup_epochs()));
  }
}

double LrSchedule::lr_at(int64_t epoch) const {
  if (epoch < 0 || epoch >= max_epoch_) {
    throw Error("lr schedule: epoch " + std::to_string(epoch) + " is outside [0, " +
                std::to_string(max_epoch_) + ")");
  }
  if (epoch < options_.warmup_epochs()) return options_.warmup_lr();
  if (options_.name() == "constant") return base_lr_;
  return cosine_at(epoch - options_.warmup_epochs());
}

// PyTorch's CosineAnnealingLR.step() is recursive (each lr is the previous one times a ratio of
// cosines), and differs from the closed form base * (1 + cos(pi t / T)) / 2 in the last bits;
// repeating the recursion gives the anchors' lr exactly. Its special case for t = T + 1 cannot
// occur here: t <= max_epoch - 1 < T.
double LrSchedule::cosine_at(int64_t t) const {
  const double pi = std::acos(-1.0);
  const double T = static_cast<double>(max_epoch_);
  double lr = base_lr_;
  for (int64_t k = 1; k <= t; ++k) {
    lr = (1 + std::cos(pi * k / T)) / (1 + std::cos(pi * (k - 1) / T)) * lr;
  }
  return lr;
}

}  // namespace vlprompt::engine
