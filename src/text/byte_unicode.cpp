#include "src/text/byte_unicode.h"

namespace vlprompt::text {
namespace {

bool printable_as_itself(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

std::array<ByteCharacter, 256> build_byte_characters() {
  std::array<ByteCharacter, 256> table{};
  size_t n = 0;
  for (int b = 0; b < 256; ++b) {
    if (printable_as_itself(b)) table[n++] = {static_cast<uint8_t>(b), static_cast<char32_t>(b)};
  }
  char32_t next_free = 256;
  for (int b = 0; b < 256; ++b) {
    if (!printable_as_itself(b)) table[n++] = {static_cast<uint8_t>(b), next_free++};
  }
  return table;
}

}  // namespace

const std::array<ByteCharacter, 256>& byte_characters() {
  static const std::array<ByteCharacter, 256> table = build_byte_characters();
  return table;
}

int byte_of_character(char32_t c) {
  // Characters are < 256 + 68 (the bytes that are not printable as themselves).
  static const std::array<int, 512> inverse = [] {
    std::array<int, 512> inv{};
    inv.fill(-1);
    for (const ByteCharacter& bc : byte_characters()) inv[bc.character] = bc.byte;
    return inv;
  }();
  return c < inverse.size() ? inverse[c] : -1;
}

}  // namespace vlprompt::text
