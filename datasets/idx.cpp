#include "datasets/idx.h"

#include <zlib.h>

#include <cstring>
#include <filesystem>

#include "datasets/paths.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/shape_check.h"

namespace vlprompt::datasets {
namespace {

constexpr uint32_t kImagesMagic = 2051;  // 0x00000803: unsigned byte data, 3 dimensions
constexpr uint32_t kLabelsMagic = 2049;  // 0x00000801: unsigned byte data, 1 dimension

uint32_t big_endian_u32(const std::string& bytes, size_t offset) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + offset);
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Reads the header of an IDX file with `dims` dimensions and checks that the data that follows
// is exactly as long as the header says.
std::vector<int64_t> read_header(const std::string& bytes, const std::string& path, uint32_t magic,
                                 size_t dims) {
  const size_t header = 4 * (dims + 1);
  if (bytes.size() < header) {
    throw FileError(path, "too short for an IDX header (" + std::to_string(bytes.size()) +
                              " bytes, expected at least " + std::to_string(header) + ")");
  }
  const uint32_t found = big_endian_u32(bytes, 0);
  if (found != magic) {
    throw FileError(path, "IDX magic number is " + std::to_string(found) + ", expected " +
                              std::to_string(magic));
  }
  std::vector<int64_t> shape;
  for (size_t d = 0; d < dims; ++d) shape.push_back(big_endian_u32(bytes, 4 * (d + 1)));
  const std::optional<uint64_t> count = core::checked_numel(shape);
  if (!count) throw FileError(path, "IDX header sizes are too large for a tensor");
  const uint64_t total = *count;
  if (bytes.size() - header != total) {
    throw FileError(path, "IDX header promises " + std::to_string(total) +
                              " data bytes, file has " + std::to_string(bytes.size() - header));
  }
  return shape;
}

// <dir>/<name>.gz, or <dir>/<name> when only the uncompressed file is there.
std::string find_idx_file(const std::string& dir, const std::string& name) {
  const std::string gz = join_path(dir, name + ".gz");
  if (core::file_exists(gz)) return gz;
  const std::string plain = join_path(dir, name);
  if (core::file_exists(plain)) return plain;
  throw FileError(gz, "IDX file not found (nor " + plain + ")");
}

}  // namespace

std::string read_maybe_gzip(const std::string& path) {
  const std::string raw = core::read_file(path);
  const bool gzip = raw.size() >= 2 && static_cast<unsigned char>(raw[0]) == 0x1f &&
                    static_cast<unsigned char>(raw[1]) == 0x8b;
  if (!gzip) return raw;
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) throw FileError(path, "cannot start zlib inflate");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  std::string out;
  char chunk[1 << 16];
  int rc = Z_OK;
  while (true) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof(chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(chunk, sizeof(chunk) - zs.avail_out);
    if (rc == Z_STREAM_END) {
      // gzip allows several members one after another; read them all.
      if (zs.avail_in == 0) break;
      if (inflateReset(&zs) != Z_OK) break;
      continue;
    }
    if (rc != Z_OK) break;
    if (zs.avail_in == 0 && zs.avail_out != 0) {
      rc = Z_BUF_ERROR;
      break;
    }
  }
  const std::string message = zs.msg ? zs.msg : "";
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    throw FileError(
        path, rc == Z_BUF_ERROR ? "truncated gzip data" : "corrupt gzip data (" + message + ")");
  }
  return out;
}

at::Tensor read_idx_images(const std::string& path) {
  const std::string bytes = read_maybe_gzip(path);
  const std::vector<int64_t> shape = read_header(bytes, path, kImagesMagic, 3);
  at::Tensor images = at::empty(shape, at::kByte);
  // An empty tensor's data pointer may be null, and memcpy from/to null is undefined even for 0.
  if (images.numel() > 0) {
    std::memcpy(images.data_ptr<uint8_t>(), bytes.data() + 16, bytes.size() - 16);
  }
  return images;
}

at::Tensor read_idx_labels(const std::string& path) {
  const std::string bytes = read_maybe_gzip(path);
  const std::vector<int64_t> shape = read_header(bytes, path, kLabelsMagic, 1);
  at::Tensor labels = at::empty(shape, at::kByte);
  if (labels.numel() > 0) {
    std::memcpy(labels.data_ptr<uint8_t>(), bytes.data() + 8, bytes.size() - 8);
  }
  return labels.to(at::kLong);
}

DatasetSplit load_idx_split(const CatalogEntry& entry, const std::string& dir,
                            const std::string& split) {
  const std::string prefix = entry.splits.at(split);
  const std::string images_path = find_idx_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_idx_file(dir, prefix + "-labels-idx1-ubyte");
  const at::Tensor images = read_idx_images(images_path);
  const at::Tensor labels = read_idx_labels(labels_path);
  const int64_t count = images.size(0);
  if (labels.size(0) != count) {
    throw FileError(labels_path, "holds " + std::to_string(labels.size(0)) + " labels but " +
                                     images_path + " holds " + std::to_string(count) + " images");
  }
  const int64_t num_classes = static_cast<int64_t>(entry.classnames.size());
  const auto* label = labels.data_ptr<int64_t>();
  DatasetSplit out;
  out.classnames = entry.classnames;
  out.items.resize(static_cast<size_t>(count));
  // One contiguous [N, H, W, 3] tensor; each record holds a view of its image.
  const at::Tensor rgb = images.unsqueeze(-1).expand({-1, -1, -1, 3}).contiguous();
  for (int64_t i = 0; i < count; ++i) {
    if (label[i] < 0 || label[i] >= num_classes) {
      throw FileError(labels_path, "label " + std::to_string(label[i]) + " at index " +
                                       std::to_string(i) + " is outside [0, " +
                                       std::to_string(num_classes) + ")");
    }
    out.items[static_cast<size_t>(i)].pixels = rgb[i];
    out.items[static_cast<size_t>(i)].label = label[i];
  }
  return out;
}

}  // namespace vlprompt::datasets
