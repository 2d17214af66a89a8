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

std::vector<std::string> bench_class_names(int64_t n) {
  if (n == 10) {
    return {"t-shirt", "trouser", "pullover", "dress", "coat",
            "sandal",  "shirt",   "sneaker",  "bag",   "ankle boot"};
  }
  static const char* kAdjectives[] = {
      "red",    "small", "wild",  "golden", "spotted", "striped", "common", "giant",
      "little", "north", "south", "east",   "west",    "great",   "lesser", "black",
      "white",  "grey",  "brown", "green",  "blue",    "yellow",  "silver", "long",
      "short",  "sea",   "river", "hill",   "desert",  "forest",  "house",  "garden",
      "night",  "snow",  "sand",  "rock",   "field",   "water",   "tree",   "marsh"};
  static const char* kNouns[] = {"shark",  "owl",  "fox",    "beetle", "snake",  "frog", "lizard",
                                 "spider", "crab", "moth",   "finch",  "turtle", "eel",  "dog",
                                 "cat",    "bear", "monkey", "deer",   "goat",   "ship", "truck",
                                 "chair",  "lamp", "boot",   "kettle"};
  constexpr int64_t a = 40, b = 25;
  std::vector<std::string> names;
  for (int64_t i = 0; i < n; ++i) {
    std::string name = std::string(kAdjectives[i % a]) + " " + kNouns[(i / a) % b];
    if (i >= a * b) name += " " + std::to_string(i / (a * b));
    names.push_back(name);
  }
  return names;
}

}  // namespace vlprompt::pipeline
