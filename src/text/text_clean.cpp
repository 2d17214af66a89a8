#include "src/text/text_clean.h"

#include <unicode/uchar.h>
#include <unicode/ustring.h>

#include <array>

#include "src/core/error.h"
#include "src/text/html_unescape.h"
#include "src/text/utf8.h"

namespace vlprompt::text {
namespace {

// `regex`'s \s (which whitespace_clean and the pattern use): the Unicode White_Space property.
bool is_regex_space(char32_t c) {
  return (c >= 0x9 && c <= 0xD) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// Python's str.strip() also strips the information separators U+001C..U+001F, which \s does not
// match: they survive inside the text but not at its ends.
bool is_python_space(char32_t c) { return is_regex_space(c) || (c >= 0x1C && c <= 0x1F); }

std::u32string strip(const std::u32string& s) {
  size_t begin = 0, end = s.size();
  while (begin < end && is_python_space(s[begin])) ++begin;
  while (end > begin && is_python_space(s[end - 1])) --end;
  return s.substr(begin, end - begin);
}

std::u32string collapse_whitespace(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (is_regex_space(s[i])) {
      out.push_back(U' ');
      while (i < s.size() && is_regex_space(s[i])) ++i;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

std::u32string lower(const std::u32string& s) {
  if (s.empty()) return s;
  const auto fail = [](const char* step, UErrorCode status) {
    throw Error(std::string("ICU failed to lower-case text (") + step +
                "): " + u_errorName(status));
  };
  UErrorCode status = U_ZERO_ERROR;
  const auto* src32 = reinterpret_cast<const UChar32*>(s.data());
  const auto length32 = static_cast<int32_t>(s.size());
  std::u16string utf16(2 * s.size(), u'\0');
  int32_t length16 = 0;
  u_strFromUTF32(reinterpret_cast<UChar*>(utf16.data()), static_cast<int32_t>(utf16.size()),
                 &length16, src32, length32, &status);
  if (U_FAILURE(status)) fail("UTF-32 to UTF-16", status);
  // Full lower-case mappings grow a string by at most 3x (U+0130 -> "i\u0307").
  std::u16string lowered(3 * static_cast<size_t>(length16) + 1, u'\0');
  const int32_t lowered_length =
      u_strToLower(reinterpret_cast<UChar*>(lowered.data()), static_cast<int32_t>(lowered.size()),
                   reinterpret_cast<const UChar*>(utf16.data()), length16, "", &status);
  if (U_FAILURE(status)) fail("lower", status);
  std::u32string out(static_cast<size_t>(lowered_length), U'\0');
  int32_t out_length = 0;
  u_strToUTF32(reinterpret_cast<UChar32*>(out.data()), static_cast<int32_t>(out.size()),
               &out_length, reinterpret_cast<const UChar*>(lowered.data()), lowered_length,
               &status);
  if (U_FAILURE(status)) fail("UTF-16 to UTF-32", status);
  out.resize(static_cast<size_t>(out_length));
  return out;
}

bool is_letter(char32_t c) { return U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_L_MASK; }
bool is_number(char32_t c) { return U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK; }

// IGNORECASE compare against a lower-case ASCII pattern character. After lower() the only
// character left that simple case folding maps onto ASCII is U+017F (long s) -> 's'.
bool matches_ignore_case(char32_t c, char p) {
  return c == static_cast<char32_t>(p) || (p == 's' && c == 0x17F);
}

// Length of `literal` matched at s[i] (IGNORECASE), 0 if it does not match.
size_t match_literal(const std::u32string& s, size_t i, const char* literal) {
  size_t k = 0;
  for (; literal[k] != '\0'; ++k) {
    if (i + k >= s.size() || !matches_ignore_case(s[i + k], literal[k])) return 0;
  }
  return k;
}

// The alternatives of the pattern in order, at position i; returns the match length (0: none).
size_t match_at(const std::u32string& s, size_t i) {
  static constexpr std::array<const char*, 9> kLiterals = {
      "<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
  for (const char* literal : kLiterals) {
    if (size_t n = match_literal(s, i, literal)) return n;
  }
  size_t k = i;
  if (is_letter(s[i])) {
    while (k < s.size() && is_letter(s[k])) ++k;
    return k - i;
  }
  if (is_number(s[i])) return 1;
  while (k < s.size() && !is_regex_space(s[k]) && !is_letter(s[k]) && !is_number(s[k])) ++k;
  return k - i;
}

}  // namespace

std::u32string clean_text(const std::u32string& text) {
  const std::u32string unescaped = strip(html_unescape(html_unescape(text)));
  return lower(strip(collapse_whitespace(unescaped)));
}

std::vector<std::string> split_words(const std::u32string& cleaned) {
  std::vector<std::string> words;
  for (size_t i = 0; i < cleaned.size();) {
    const size_t n = match_at(cleaned, i);
    if (n == 0) {
      ++i;  // whitespace: findall() skips what no alternative matches
      continue;
    }
    words.push_back(utf8::encode(cleaned.substr(i, n)));
    i += n;
  }
  return words;
}

}  // namespace vlprompt::text
