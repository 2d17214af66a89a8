// Lines of a text file as editors write them: a UTF-8 byte-order mark dropped, '\n' or "\r\n"
// endings, numbered from 1 for error messages. One reader for every line-based format.
#pragma once

#include <cstdint>
#include <string>

namespace vlprompt::core {

inline std::string drop_bom(std::string bytes) {
  if (bytes.compare(0, 3, "\xEF\xBB\xBF") == 0) bytes.erase(0, 3);
  return bytes;
}

inline bool is_blank(const std::string& line) {
  return line.find_first_not_of(" \t") == std::string::npos;
}

// Calls fn(line_number, text) for every line of `bytes`, blank ones included, without its ending.
template <typename Fn>
void for_each_line(const std::string& bytes, Fn fn) {
  size_t start = bytes.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  for (int64_t line = 1; start < bytes.size(); ++line) {
    size_t end = bytes.find('\n', start);
    if (end == std::string::npos) end = bytes.size();
    std::string text = bytes.substr(start, end - start);
    start = end + 1;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    fn(line, text);
  }
}

}  // namespace vlprompt::core
