#include "src/core/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/shape_check.h"

namespace vlprompt::core {
namespace {

using json = nlohmann::json;

// A header larger than this is a corrupt length field, not a real model.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

uint64_t read_le_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

struct ParsedHeader {
  json header;
  size_t data_start = 0;
};

ParsedHeader parse_header(const std::string& path, const std::string& head, uint64_t file_size) {
  if (file_size < 8)
    throw FileError(path, "not a safetensors file: shorter than its 8-byte header length");
  const uint64_t n = read_le_u64(head.data());
  if (n > kMaxHeaderBytes || 8 + n > file_size) {
    throw FileError(path, "safetensors header length " + std::to_string(n) +
                              " does not fit in a file of " + std::to_string(file_size) +
                              " bytes (truncated or not a safetensors file)");
  }
  ParsedHeader out;
  try {
    out.header = json::parse(head.substr(8, n));
  } catch (const json::exception& e) {
    throw FileError(path, std::string("safetensors header is not valid JSON: ") + e.what());
  }
  if (!out.header.is_object()) throw FileError(path, "safetensors header is not a JSON object");
  out.data_start = 8 + n;
  return out;
}

struct Entry {
  at::ScalarType type;
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

Entry parse_entry(const std::string& path, const std::string& name, const json& v,
                  uint64_t data_size) {
  auto bad = [&](const std::string& what) -> FileError {
    return FileError(path, "tensor '" + name + "': " + what);
  };
  if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") ||
      !v.contains("data_offsets")) {
    throw bad("entry must be an object with dtype, shape and data_offsets");
  }
  Entry e;
  if (!v["dtype"].is_string()) throw bad("dtype must be a string");
  e.dtype = v["dtype"].get<std::string>();
  try {
    e.type = dtype_from_safetensors(e.dtype);
  } catch (const Error&) {
    throw bad("unknown dtype '" + e.dtype +
              "' (expected F64, F32, F16, BF16, I64, I32, I16, I8, U8 or BOOL)");
  }
  if (!v["shape"].is_array()) throw bad("shape must be an array");
  for (const auto& d : v["shape"]) {
    if (!d.is_number_integer() || (d.is_number_unsigned() && d.get<uint64_t>() > INT64_MAX) ||
        d.get<int64_t>() < 0)
      throw bad("shape has a negative, non-integer or too large size");
    e.shape.push_back(d.get<int64_t>());
  }
  const std::optional<uint64_t> count = checked_numel(e.shape);
  if (!count)
    throw bad("shape " + v["shape"].dump() + " is too large for a tensor (64-bit overflow)");
  const uint64_t numel = *count;
  const auto& off = v["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
      !off[1].is_number_unsigned()) {
    throw bad("data_offsets must be [begin, end]");
  }
  e.begin = off[0].get<uint64_t>();
  e.end = off[1].get<uint64_t>();
  if (e.begin > e.end || e.end > data_size) {
    throw bad("data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
              "] lie outside the " + std::to_string(data_size) + " data bytes (file truncated?)");
  }
  uint64_t want = 0;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(at::elementSize(e.type)), &want))
    throw bad("shape " + v["shape"].dump() + " with dtype " + e.dtype + " overflows 64 bits");
  if (e.end - e.begin != want) {
    throw bad("holds " + std::to_string(e.end - e.begin) + " bytes but dtype " + e.dtype +
              " and its shape need " + std::to_string(want));
  }
  return e;
}

// The data section must be exactly covered by the tensors, without overlaps or holes (the
// format's own rule): overlapping ranges would alias tensors, unused bytes hide data.
void check_ranges_tile(const std::string& path, std::vector<std::pair<std::string, Entry>> entries,
                       uint64_t data_size) {
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.second.begin, a.second.end) <
           std::make_pair(b.second.begin, b.second.end);
  });
  uint64_t covered = 0;
  std::string previous = "(start of data)";
  for (const auto& [name, e] : entries) {
    if (e.begin != covered) {
      throw FileError(path, "tensor '" + name + "' starts at data byte " + std::to_string(e.begin) +
                                " but " + previous + " ends at " + std::to_string(covered) +
                                (e.begin < covered ? " (overlapping tensors)" : " (unused bytes)"));
    }
    covered = e.end;
    previous = "tensor '" + name + "'";
  }
  if (covered != data_size) {
    throw FileError(path, "the tensors cover " + std::to_string(covered) + " of the " +
                              std::to_string(data_size) + " data bytes (unused bytes at the end)");
  }
}

// Weight files are mapped, not read, so this bounds only what a size field can claim: the largest
// published single-file checkpoints are a few hundred GB.
constexpr uint64_t kMaxFileBytes = 1ull << 40;

// A read-only mapping of a whole file: tensors are copied once, straight out of the page cache.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const RegularFile file(path, kMaxFileBytes);
    size_ = static_cast<size_t>(file.size());
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, file.fd(), 0);
      if (p == MAP_FAILED) throw FileError(path, "cannot map the file into memory");
      data_ = static_cast<const char*>(p);
    }
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

// The first `n` bytes of `file` (fewer when it is shorter).
std::string read_prefix(const RegularFile& file, const std::string& path, uint64_t n) {
  std::string out(static_cast<size_t>(std::min(n, file.size())), '\0');
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t got =
        ::pread(file.fd(), out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw FileError(path, "read of the safetensors header failed");
    done += static_cast<size_t>(got);
  }
  return out;
}

}  // namespace

void check_finite(const TensorMap& tensors, const std::string& source) {
  for (const auto& [name, t] : tensors) {
    if (!t.defined() || !at::isFloatingType(t.scalar_type()) || t.numel() == 0) continue;
    const at::Tensor bad = at::logical_not(at::isfinite(t));
    if (!bad.any().item<bool>()) continue;
    const int64_t count = bad.sum().item<int64_t>();
    const bool has_nan = at::isnan(t).any().item<bool>();
    throw FileError(source, "tensor '" + name + "' holds " + std::to_string(count) +
                                " non-finite value" + (count == 1 ? "" : "s") +
                                (has_nan ? " (NaN)" : " (infinity)") +
                                "; expected finite numbers (a diverged or damaged file)");
  }
}

at::ScalarType dtype_from_safetensors(const std::string& name) {
  static const std::map<std::string, at::ScalarType> kTypes = {
      {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf},  {"BF16", at::kBFloat16},
      {"I64", at::kLong},   {"I32", at::kInt},   {"I16", at::kShort}, {"I8", at::kChar},
      {"U8", at::kByte},    {"BOOL", at::kBool}};
  auto it = kTypes.find(name);
  if (it == kTypes.end()) throw Error("unknown safetensors dtype '" + name + "'");
  return it->second;
}

std::string dtype_to_safetensors(at::ScalarType type) {
  switch (type) {
    case at::kDouble:
      return "F64";
    case at::kFloat:
      return "F32";
    case at::kHalf:
      return "F16";
    case at::kBFloat16:
      return "BF16";
    case at::kLong:
      return "I64";
    case at::kInt:
      return "I32";
    case at::kShort:
      return "I16";
    case at::kChar:
      return "I8";
    case at::kByte:
      return "U8";
    case at::kBool:
      return "BOOL";
    default:
      throw Error(std::string("dtype ") + c10::toString(type) + " cannot be stored in safetensors");
  }
}

TensorFile read_safetensors(const std::string& path) {
  const MappedFile file(path);
  const uint64_t header_len = file.size() >= 8 ? read_le_u64(file.data()) : 0;
  const std::string head(
      file.data(), file.size() < 8 ? file.size()
                                   : static_cast<size_t>(std::min<uint64_t>(
                                         8 + std::min(header_len, kMaxHeaderBytes), file.size())));
  const ParsedHeader ph = parse_header(path, head, file.size());
  const uint64_t data_size = file.size() - ph.data_start;
  TensorFile out;
  std::vector<std::pair<std::string, Entry>> entries;
  for (const auto& [name, v] : ph.header.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) throw FileError(path, "__metadata__ must be an object of strings");
      for (const auto& [k, s] : v.items()) {
        if (!s.is_string()) throw FileError(path, "__metadata__ key '" + k + "' is not a string");
        out.metadata[k] = s.get<std::string>();
      }
      continue;
    }
    entries.emplace_back(name, parse_entry(path, name, v, data_size));
  }
  check_ranges_tile(path, entries, data_size);
  for (const auto& [name, e] : entries) {
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(e.type));
    if (e.end > e.begin)
      std::memcpy(t.data_ptr(), file.data() + ph.data_start + e.begin, e.end - e.begin);
    out.tensors[name] = t;
  }
  return out;
}

std::map<std::string, TensorInfo> read_safetensors_header(const std::string& path,
                                                          Metadata* metadata) {
  const RegularFile file(path, kMaxFileBytes);
  const uint64_t size = file.size();
  std::string head = read_prefix(file, path, 8);
  if (size >= 8) {
    const uint64_t n = read_le_u64(head.data());
    if (n <= kMaxHeaderBytes && 8 + n <= size) head = read_prefix(file, path, 8 + n);
  }
  const ParsedHeader ph = parse_header(path, head, size);
  std::map<std::string, TensorInfo> out;
  std::vector<std::pair<std::string, Entry>> entries;
  for (const auto& [name, v] : ph.header.items()) {
    if (name == "__metadata__") {
      if (metadata && v.is_object()) {
        for (const auto& [k, s] : v.items())
          (*metadata)[k] = s.is_string() ? s.get<std::string>() : s.dump();
      }
      continue;
    }
    entries.emplace_back(name, parse_entry(path, name, v, size - ph.data_start));
    out[name] = TensorInfo{entries.back().second.dtype, entries.back().second.shape};
  }
  check_ranges_tile(path, entries, size - ph.data_start);
  return out;
}

std::string serialize_safetensors(const TensorMap& tensors, const Metadata& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::vector<at::Tensor> ordered;
  for (const auto& [name, t] : tensors) {
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    const uint64_t nbytes = c.numel() * c.element_size();
    header[name] = {{"dtype", dtype_to_safetensors(c.scalar_type())},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    ordered.push_back(c);
  }
  std::string h = header.dump();
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');
  std::string out(8, '\0');
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += h;
  out.reserve(out.size() + offset);
  for (const auto& c : ordered) {
    out.append(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
  }
  return out;
}

void write_safetensors(const std::string& path, const TensorMap& tensors,
                       const Metadata& metadata) {
  atomic_write(path, serialize_safetensors(tensors, metadata));
}

}  // namespace vlprompt::core
