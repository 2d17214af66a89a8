#include "tools/bench/bench_util.h"

#include <algorithm>
#include <fstream>
#include <string>

namespace vlprompt::pipeline {

double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

void reset_peak_rss() {
  // "5" resets the peak resident set size (Linux >= 4.0), so each measurement gets its own peak.
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

}  // namespace vlprompt::pipeline
