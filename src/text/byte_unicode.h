// GPT-2/CLIP's reversible byte -> printable character mapping. BPE works on these characters so
// that every byte sequence has a spelling in the vocabulary without whitespace or control
// characters inside tokens.
#pragma once

#include <array>
#include <cstdint>

namespace vlprompt::text {

// The 256 characters in OpenAI's bytes_to_unicode() order: first the bytes that are printable
// Latin-1 themselves ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) mapped to themselves, then the
// remaining bytes in increasing order mapped to U+0100, U+0101, ... This order is also the order
// of the first 256 vocabulary entries.
struct ByteCharacter {
  uint8_t byte;
  char32_t character;
};
const std::array<ByteCharacter, 256>& byte_characters();

// The inverse mapping; -1 for a character that no byte maps to.
int byte_of_character(char32_t c);

}  // namespace vlprompt::text
