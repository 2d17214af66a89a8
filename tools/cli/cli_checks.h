// Range checks for integer options, with messages a user can act on. CLI11's own numeric
// validators print their bounds as doubles (1.797693e+308), which reads as noise.
#pragma once

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace vlprompt::cli {

// CLI11 reports it as "--top-k: expected an integer >= 1, got 0".
inline CLI::Validator at_least(int64_t min) {
  const std::string expected = "an integer >= " + std::to_string(min);
  return CLI::Validator(
      [min, expected](std::string& text) -> std::string {
        try {
          size_t used = 0;
          const long long v = std::stoll(text, &used);
          if (used == text.size() && v >= min) return "";
        } catch (const std::exception&) {
        }
        return "expected " + expected + ", got " + text;
      },
      expected);
}

// A finite number in [min, max] ("--top-p: expected a number in (0, 1], got nan"). `min_open`:
// the bound itself is refused.
inline CLI::Validator number_in(double min, double max, bool min_open = false) {
  const std::string expected =
      std::string("a number in ") + (min_open ? "(" : "[") + CLI::detail::to_string(min) + ", " +
      (std::isinf(max) ? std::string("inf)") : CLI::detail::to_string(max) + "]");
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        try {
          size_t used = 0;
          const double v = std::stod(text, &used);
          const bool above = min_open ? v > min : v >= min;
          if (used == text.size() && std::isfinite(v) && above && v <= max) return "";
        } catch (const std::exception&) {
        }
        return "expected " + expected + ", got " + text;
      },
      expected);
}

// An output path that is not empty: "" would otherwise read as "not given" and write nothing.
inline CLI::Validator a_path() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        return text.empty() ? "expected a file path, got an empty one" : "";
      },
      "PATH");
}

}  // namespace vlprompt::cli
