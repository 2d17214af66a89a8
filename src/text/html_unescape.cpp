#include "src/text/html_unescape.h"

#include <array>

namespace vlprompt::text {
namespace {

constexpr char32_t kReplacement = 0xFFFD;
constexpr size_t kMaxNameLength = 32;  // Python's pattern: [^\t\n\f <&#;]{1,32};?

// HTML5 maps these numeric references to Windows-1252's characters (0x00 and 0x0D are special).
constexpr std::array<char32_t, 32> kWindows1252 = {
    0x20AC, 0x81,   0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x8D,   0x017D, 0x8F,   0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,   0x017E, 0x0178};

bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }

int hex_value(char32_t c) {
  if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<int>(c - 'A' + 10);
  return -1;
}

bool ends_name(char32_t c) {
  return c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' ||
         c == ';';
}

// Code points a numeric reference may not produce; HTML5 (and Python) drop them.
bool dropped_code_point(char32_t c) {
  return (c >= 0x1 && c <= 0x8) || c == 0xB || (c >= 0xE && c <= 0x1F) ||
         (c >= 0x7F && c <= 0x9F) || (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
}

// Appends what a numeric reference with value `num` stands for (`too_big`: beyond 32 bits).
void append_numeric(std::u32string& out, uint64_t num, bool too_big) {
  if (!too_big && num == 0) {
    out.push_back(kReplacement);
  } else if (!too_big && num == 0x0D) {
    out.push_back(U'\r');
  } else if (!too_big && num >= 0x80 && num <= 0x9F) {
    out.push_back(kWindows1252[num - 0x80]);
  } else if (too_big || num > 0x10FFFF || (num >= 0xD800 && num <= 0xDFFF)) {
    out.push_back(kReplacement);
  } else if (!dropped_code_point(static_cast<char32_t>(num))) {
    out.push_back(static_cast<char32_t>(num));
  }
}

// Handles "&#..." at text[amp]; returns the index after the reference, or 0 if none matches.
size_t unescape_numeric(const std::u32string& text, size_t amp, std::u32string& out) {
  size_t k = amp + 2;
  int base = 10;
  if (k < text.size() && is_digit(text[k])) {
    base = 10;
  } else if (k + 1 < text.size() && (text[k] == 'x' || text[k] == 'X') &&
             hex_value(text[k + 1]) >= 0) {
    base = 16, ++k;
  } else {
    return 0;
  }
  uint64_t num = 0;
  bool too_big = false;
  for (; k < text.size(); ++k) {
    const int digit = base == 10 ? (is_digit(text[k]) ? static_cast<int>(text[k] - '0') : -1)
                                 : hex_value(text[k]);
    if (digit < 0) break;
    num = num * base + digit;
    if (num > 0xFFFFFFFFull) too_big = true, num = 0xFFFFFFFFull;
  }
  if (k < text.size() && text[k] == ';') ++k;
  append_numeric(out, num, too_big);
  return k;
}

std::string ascii_or_empty(const std::u32string& s) {
  std::string ascii;
  for (char32_t c : s) {
    if (c >= 0x80) return {};
    ascii.push_back(static_cast<char>(c));
  }
  return ascii;
}

// Handles "&name" at text[amp]; returns the index after what was consumed, or 0 if no match.
size_t unescape_named(const std::u32string& text, size_t amp, std::u32string& out) {
  size_t k = amp + 1;
  while (k < text.size() && k - amp - 1 < kMaxNameLength && !ends_name(text[k])) ++k;
  if (k == amp + 1) return 0;
  if (k < text.size() && text[k] == ';') ++k;
  const std::u32string name = text.substr(amp + 1, k - amp - 1);
  if (char32_t c = html_entity(ascii_or_empty(name))) {
    out.push_back(c);
    return k;
  }
  // The longest known prefix (only the legacy names match without ';'), the rest kept as text.
  for (size_t len = name.size() - 1; len >= 2; --len) {
    if (char32_t c = html_entity(ascii_or_empty(name.substr(0, len)))) {
      out.push_back(c);
      out.append(name, len, std::u32string::npos);
      return k;
    }
  }
  out.push_back(U'&');
  out.append(name);
  return k;
}

}  // namespace

std::u32string html_unescape(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '&') {
      out.push_back(text[i++]);
      continue;
    }
    const bool numeric = i + 1 < text.size() && text[i + 1] == '#';
    const size_t next = numeric ? unescape_numeric(text, i, out) : unescape_named(text, i, out);
    if (next == 0) {
      out.push_back(text[i++]);
    } else {
      i = next;
    }
  }
  return out;
}

}  // namespace vlprompt::text
