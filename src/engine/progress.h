// Progress of a loop on stderr: a redrawn bar with rate and ETA on a terminal, plain lines at a
// fixed interval otherwise (logs and CI must not fill with carriage returns).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace vlprompt::engine {

enum class ProgressMode { kAuto, kBar, kLines, kOff };

// "auto" | "bar" | "lines" | "off"; Error naming the value otherwise.
ProgressMode parse_progress_mode(const std::string& name);
// kAuto becomes kBar when stderr is a terminal, kLines otherwise.
ProgressMode resolve_progress_mode(ProgressMode mode);

// "59s", "4:05", "1:02:03".
std::string format_duration(double seconds);

class Progress {
 public:
  // `total` steps of `unit` ("it", "img", ...); lines mode prints at most once per
  // `line_interval_s`.
  Progress(ProgressMode mode, std::string label, int64_t total, std::string unit = "it",
           double line_interval_s = 10);

  // `done` steps finished; `status` is appended (e.g. "loss 0.8123").
  void update(int64_t done, const std::string& status);
  // Ends the bar's line, showing the last status.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  std::string render(int64_t done, const std::string& status, bool bar) const;

  ProgressMode mode_;
  std::string label_;
  int64_t total_;
  std::string unit_;
  double line_interval_s_;
  Clock::time_point start_, last_print_;
  int64_t last_done_ = 0;
  std::string last_status_;
};

}  // namespace vlprompt::engine
