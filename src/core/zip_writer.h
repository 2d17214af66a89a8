// A zip archive of stored (uncompressed) records laid out as PyTorch's own writer lays them out:
// every record's data starts at a multiple of `alignment` bytes (the padding sits in the local
// header's extra field, id "FB"), so a reader may map tensors in place. No zip64: an archive
// past 4 GiB is an Error (prompt checkpoints are kilobytes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vlprompt::core {

struct ZipRecord {
  std::string name;  // full path inside the archive ("model.pth/data.pkl")
  std::string data;
};

// The archive's bytes, records in the given order.
std::string zip_stored(const std::vector<ZipRecord>& records, size_t alignment = 64);

// The CRC-32 (IEEE, as zip uses) of `data`.
uint32_t crc32(const std::string& data);

}  // namespace vlprompt::core
