#include "src/core/zip_writer.h"

#include <array>
#include <limits>

#include "src/core/error.h"
#include "src/core/zip_format.h"

namespace vlprompt::core {
namespace {

using zip_format::kCentralHeader;
using zip_format::kLocalHeader;
constexpr uint32_t kEnd = zip_format::kEndOfDirectory;
constexpr uint16_t kVersion = 20;        // "2.0": stored records, no zip64
constexpr uint16_t kDosDate = 0x21;      // 1980-01-01: fixed, so equal inputs give equal bytes
constexpr uint16_t kPaddingId = 0x4246;  // "FB", the extra-field id PyTorch pads with

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
void put32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t fits32(size_t v, const std::string& what) {
  if (v > std::numeric_limits<uint32_t>::max()) {
    throw Error("zip: " + what + " is " + std::to_string(v) +
                " bytes, past the 4 GiB a zip without zip64 can hold");
  }
  return static_cast<uint32_t>(v);
}

// The fields local and central headers share: version .. extra length.
void common_fields(std::string& out, uint32_t crc, uint32_t size, uint16_t name_len,
                   uint16_t extra_len) {
  put16(out, kVersion);
  put16(out, 0);  // flags
  put16(out, 0);  // method: stored
  put16(out, 0);  // time
  put16(out, kDosDate);
  put32(out, crc);
  put32(out, size);  // compressed = uncompressed
  put32(out, size);
  put16(out, name_len);
  put16(out, extra_len);
}

}  // namespace

uint32_t crc32(const std::string& data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xffffffffu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

std::string zip_stored(const std::vector<ZipRecord>& records, size_t alignment) {
  if (alignment == 0) throw Error("zip: alignment must be at least 1");
  std::string out, central;
  for (const ZipRecord& r : records) {
    if (r.name.empty() || r.name.size() > 0xffff) {
      throw Error("zip: record name '" + r.name + "' must have 1 to 65535 bytes");
    }
    const uint32_t offset = fits32(out.size(), "the archive before '" + r.name + "'");
    const uint32_t size = fits32(r.data.size(), "record '" + r.name + "'");
    const uint32_t crc = crc32(r.data);
    const auto name_len = static_cast<uint16_t>(r.name.size());
    // Data starts after the 30-byte header, the name and a 4-byte extra-field header + padding.
    const size_t unpadded = out.size() + 30 + r.name.size() + 4;
    const size_t padding = (alignment - unpadded % alignment) % alignment;
    put32(out, kLocalHeader);
    common_fields(out, crc, size, name_len, static_cast<uint16_t>(4 + padding));
    out += r.name;
    put16(out, kPaddingId);
    put16(out, static_cast<uint16_t>(padding));
    out.append(padding, 'Z');
    out += r.data;

    put32(central, kCentralHeader);
    put16(central, kVersion);  // made by
    common_fields(central, crc, size, name_len, 0);
    put16(central, 0);  // comment length
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, 0);  // external attributes
    put32(central, offset);
    central += r.name;
  }
  if (records.size() > 0xffff) throw Error("zip: more than 65535 records");
  const uint32_t central_offset = fits32(out.size(), "the archive's records");
  const uint32_t central_size = fits32(central.size(), "the central directory");
  out += central;
  put32(out, kEnd);
  put16(out, 0);  // this disk
  put16(out, 0);  // disk with the central directory
  put16(out, static_cast<uint16_t>(records.size()));
  put16(out, static_cast<uint16_t>(records.size()));
  put32(out, central_size);
  put32(out, central_offset);
  put16(out, 0);  // comment length
  return out;
}

}  // namespace vlprompt::core
