#include "src/engine/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "src/core/error.h"

namespace vlprompt::engine {
namespace {

constexpr int kBarWidth = 24;
constexpr double kBarRedrawS = 0.1;  // redrawing faster only costs terminal time

}  // namespace

ProgressMode parse_progress_mode(const std::string& name) {
  if (name == "auto") return ProgressMode::kAuto;
  if (name == "bar") return ProgressMode::kBar;
  if (name == "lines") return ProgressMode::kLines;
  if (name == "off") return ProgressMode::kOff;
  throw Error("progress: unknown mode '" + name + "'; expected auto, bar, lines or off");
}

ProgressMode resolve_progress_mode(ProgressMode mode) {
  if (mode != ProgressMode::kAuto) return mode;
  return isatty(fileno(stderr)) ? ProgressMode::kBar : ProgressMode::kLines;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = std::llround(seconds);
  char buffer[32];
  if (s < 60) {
    std::snprintf(buffer, sizeof(buffer), "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buffer, sizeof(buffer), "%lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(buffer, sizeof(buffer), "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  }
  return buffer;
}

Progress::Progress(ProgressMode mode, std::string label, int64_t total, std::string unit,
                   double line_interval_s)
    : mode_(resolve_progress_mode(mode)),
      label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      line_interval_s_(line_interval_s),
      start_(Clock::now()),
      last_print_(start_) {}

std::string Progress::render(int64_t done, const std::string& status, bool bar) const {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  const double rate = elapsed > 0 ? done / elapsed : 0;
  const double eta = rate > 0 ? (total_ - done) / rate : NAN;
  std::string out = label_ + " ";
  if (bar) {
    const int filled = total_ > 0 ? static_cast<int>(kBarWidth * done / total_) : kBarWidth;
    out += "[" + std::string(filled, '#') + std::string(kBarWidth - filled, '.') + "] ";
  }
  char numbers[96];
  std::snprintf(numbers, sizeof(numbers), "%lld/%lld  %.2f %s/s  ETA %s",
                static_cast<long long>(done), static_cast<long long>(total_), rate, unit_.c_str(),
                format_duration(eta).c_str());
  out += numbers;
  if (!status.empty()) out += "  " + status;
  return out;
}

void Progress::update(int64_t done, const std::string& status) {
  last_done_ = done;
  last_status_ = status;
  if (mode_ == ProgressMode::kOff) return;
  const auto now = Clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  if (mode_ == ProgressMode::kBar && (since >= kBarRedrawS || done == total_)) {
    // \033[K clears what a longer previous line left behind.
    std::fprintf(stderr, "\r%s\033[K", render(done, status, true).c_str());
    std::fflush(stderr);
    last_print_ = now;
  } else if (mode_ == ProgressMode::kLines && since >= line_interval_s_) {
    std::fprintf(stderr, "%s\n", render(done, status, false).c_str());
    last_print_ = now;
  }
}

void Progress::finish() {
  if (mode_ == ProgressMode::kOff) return;
  if (mode_ == ProgressMode::kBar) {
    std::fprintf(stderr, "\r%s\033[K\n", render(last_done_, last_status_, true).c_str());
  }
  // Lines mode: the caller's epoch summary follows; a last progress line would repeat it.
  std::fflush(stderr);
}

}  // namespace vlprompt::engine
