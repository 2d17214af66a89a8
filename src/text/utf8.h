// UTF-8 <-> code points, with the two error policies the tokenizer needs: user text must be valid
// UTF-8 (an Error says where it is not), while decoded token bytes follow Python's
// bytes.decode("utf-8", errors="replace") so decode() matches the reference exactly.
#pragma once

#include <string>

namespace vlprompt::text::utf8 {

// Throws vlprompt::Error naming `what` and the byte offset of the first ill-formed sequence.
std::u32string decode_strict(const std::string& bytes, const std::string& what);

// Each maximal ill-formed subpart becomes U+FFFD, as CPython (and the Unicode standard's
// recommended practice) does.
std::string replace_invalid(const std::string& bytes);

void append(std::string& out, char32_t c);
std::string encode(const std::u32string& text);

}  // namespace vlprompt::text::utf8
