// The zip format's record signatures (APPNOTE.TXT 4.3), shared by the reader and the writer.
#pragma once

#include <cstdint>

namespace vlprompt::core::zip_format {

constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfDirectory = 0x06054b50;
constexpr uint32_t kZip64EndOfDirectory = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;

}  // namespace vlprompt::core::zip_format
