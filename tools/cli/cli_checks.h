// Range checks for integer options, with messages a user can act on. CLI11's own numeric
// validators print their bounds as doubles (1.797693e+308), which reads as noise.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
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

}  // namespace vlprompt::cli
