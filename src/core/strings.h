// Small string helpers used across libraries.
#pragma once

#include <algorithm>
#include <string>

namespace vlprompt::core {

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Class and context words are written with underscores in folder names ("ankle_boot").
inline std::string spaces_for_underscores(std::string text) {
  std::replace(text.begin(), text.end(), '_', ' ');
  return text;
}

}  // namespace vlprompt::core
