#include "src/text/utf8.h"

#include "src/core/error.h"

namespace vlprompt::text::utf8 {
namespace {

struct Sequence {
  size_t length = 0;  // bytes consumed: the whole sequence when valid, else the maximal subpart
  bool valid = false;
  char32_t code_point = 0;
};

// The well-formed byte ranges of Unicode Table 3-7: the second byte's range depends on the lead
// byte (this is what rules out overlong forms, surrogates and values above U+10FFFF).
Sequence next_sequence(const std::string& s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return {1, true, lead};
  size_t trailing = 0;
  unsigned char low = 0x80, high = 0xBF;
  char32_t cp = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    trailing = 1, cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    trailing = 2, cp = lead & 0x0F;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    trailing = 3, cp = lead & 0x07;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return {1, false, 0};
  }
  size_t k = 1;
  for (; k <= trailing; ++k) {
    if (i + k >= s.size()) return {k, false, 0};
    const unsigned char b = byte(i + k);
    if (b < low || b > high) return {k, false, 0};
    cp = (cp << 6) | (b & 0x3F);
    low = 0x80, high = 0xBF;
  }
  return {k, true, cp};
}

}  // namespace

std::u32string decode_strict(const std::string& bytes, const std::string& what) {
  std::u32string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const Sequence seq = next_sequence(bytes, i);
    if (!seq.valid) {
      throw Error(what + " is not valid UTF-8 (ill-formed byte sequence at byte " +
                  std::to_string(i) + "); save the text as UTF-8");
    }
    out.push_back(seq.code_point);
    i += seq.length;
  }
  return out;
}

std::string replace_invalid(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const Sequence seq = next_sequence(bytes, i);
    if (seq.valid) {
      out.append(bytes, i, seq.length);
    } else {
      append(out, U'\uFFFD');
    }
    i += seq.length;
  }
  return out;
}

void append(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string encode(const std::u32string& text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) append(out, c);
  return out;
}

}  // namespace vlprompt::text::utf8
