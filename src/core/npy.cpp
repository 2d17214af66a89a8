#include "src/core/npy.h"

#include <cstring>
#include <map>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/shape_check.h"

namespace vlprompt::core {
namespace {

const std::map<std::string, at::ScalarType>& descr_types() {
  static const std::map<std::string, at::ScalarType> kTypes = {
      {"<f4", at::kFloat}, {"<f8", at::kDouble}, {"<f2", at::kHalf},
      {"<i8", at::kLong},  {"<i4", at::kInt},    {"<i2", at::kShort},
      {"|i1", at::kChar},  {"|u1", at::kByte},   {"|b1", at::kBool}};
  return kTypes;
}

// Value of `'key': value` in the header dict: a parenthesized tuple, or text up to ',' / '}'.
std::string header_field(const std::string& path, const std::string& header,
                         const std::string& key) {
  size_t p = header.find("'" + key + "'");
  if (p == std::string::npos) throw FileError(path, "npy header lacks '" + key + "': " + header);
  p = header.find_first_not_of(" ", header.find(':', p) + 1);
  if (p == std::string::npos) throw FileError(path, "npy header is cut short: " + header);
  const size_t e = header[p] == '(' ? header.find(')', p) : header.find_first_of(",}", p);
  if (e == std::string::npos) throw FileError(path, "npy header is cut short: " + header);
  return header.substr(p, e - p + (header[p] == '(' ? 1 : 0));
}

// The header dict's text and where the data starts after it (format versions 1 to 3).
struct NpyHeader {
  std::string text;
  size_t data_start = 0;
};

NpyHeader read_npy_header(const std::string& path, const std::string& bytes) {
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) {
    throw FileError(path, "not a .npy file (missing \\x93NUMPY magic)");
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t hlen = 0, hstart = 0;
  if (major == 1) {
    hlen = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw FileError(path, "truncated .npy header");
    for (int i = 3; i >= 0; --i) hlen = (hlen << 8) | static_cast<unsigned char>(bytes[8 + i]);
    hstart = 12;
  } else {
    throw FileError(path, "unsupported .npy version " + std::to_string(major));
  }
  if (hstart + hlen > bytes.size()) throw FileError(path, "truncated .npy header");
  return {bytes.substr(hstart, hlen), hstart + hlen};
}

// The dtype of the header's quoted 'descr'; only the little-endian numeric types are read.
at::ScalarType npy_dtype(const std::string& path, const std::string& header) {
  std::string descr = header_field(path, header, "descr");
  const size_t open = descr.find_first_of("'\"");
  const size_t close = open == std::string::npos ? open : descr.find_first_of("'\"", open + 1);
  if (close == std::string::npos) {
    throw FileError(path, ".npy header 'descr' is not a quoted string: " + descr);
  }
  descr = descr.substr(open + 1, close - open - 1);
  const auto it = descr_types().find(descr);
  if (it == descr_types().end()) {
    throw FileError(path,
                    "unsupported .npy dtype '" + descr + "' (expected little-endian numeric)");
  }
  return it->second;
}

// The numbers of the 'shape' tuple, each short enough to parse without overflow.
std::vector<int64_t> npy_shape(const std::string& path, const std::string& shape_s) {
  std::vector<int64_t> shape;
  for (size_t i = 0; i < shape_s.size();) {
    if (std::isdigit(static_cast<unsigned char>(shape_s[i]))) {
      size_t j = i;
      while (j < shape_s.size() && std::isdigit(static_cast<unsigned char>(shape_s[j]))) ++j;
      if (j - i > 18) {
        throw FileError(path, ".npy shape entry '" + shape_s.substr(i, j - i) + "' is too large");
      }
      shape.push_back(std::stoll(shape_s.substr(i, j - i)));
      i = j;
    } else {
      ++i;
    }
  }
  return shape;
}

}  // namespace

at::Tensor read_npy(const std::string& path) {
  const std::string bytes = read_file(path);
  const NpyHeader header = read_npy_header(path, bytes);
  const at::ScalarType dtype = npy_dtype(path, header.text);
  if (header_field(path, header.text, "fortran_order").rfind("False", 0) != 0) {
    throw FileError(path, ".npy in Fortran order is not supported (save with C order)");
  }
  const std::string shape_s = header_field(path, header.text, "shape");
  // Sizes and their product are checked before anything is allocated: a crafted header must
  // neither overflow nor ask for more memory than the file holds.
  const std::vector<int64_t> shape = npy_shape(path, shape_s);
  const std::optional<uint64_t> count = checked_numel(shape);
  if (!count) throw FileError(path, ".npy shape (" + shape_s + ") is too large for a tensor");
  const uint64_t numel = *count;
  const size_t element = at::elementSize(dtype);
  const size_t data_start = header.data_start;
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(element), &nbytes) ||
      bytes.size() - data_start < nbytes) {
    throw FileError(path, "truncated .npy data: shape (" + shape_s + ") needs " +
                              std::to_string(numel) + " elements of " + std::to_string(element) +
                              " bytes, the file has " + std::to_string(bytes.size() - data_start));
  }
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  if (nbytes) std::memcpy(t.data_ptr(), bytes.data() + data_start, nbytes);
  return t;
}

void write_npy(const std::string& path, const at::Tensor& tensor) {
  const at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
  std::string descr;
  for (const auto& [d, type] : descr_types()) {
    if (type == t.scalar_type()) descr = d;
  }
  if (descr.empty())
    throw Error(path + ": cannot write dtype " + std::string(c10::toString(t.scalar_type())) +
                " to .npy");
  std::string shape = "(";
  for (int64_t i = 0; i < t.dim(); ++i)
    shape += std::to_string(t.size(i)) + (t.dim() == 1 ? "," : (i + 1 < t.dim() ? ", " : ""));
  shape += ")";
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Header + magic padded with spaces to a multiple of 64 bytes, newline-terminated.
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>((header.size() >> 8) & 0xff));
  out += header;
  out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  atomic_write(path, out);
}

}  // namespace vlprompt::core
