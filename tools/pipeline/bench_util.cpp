#include "tools/pipeline/bench_util.h"

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

}  // namespace vlprompt::pipeline
