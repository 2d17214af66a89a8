#include "src/core/zip_reader.h"

#include <zlib.h>

#include <algorithm>
#include <set>

#include "src/core/error.h"
#include "src/core/zip_format.h"

namespace vlprompt::core {
namespace {

using namespace zip_format;
constexpr size_t kEndOfDirectorySize = 22;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kMaxCommentSize = 0xFFFF;
// Deflate cannot expand data more than ~1032:1; a larger declared size is a lie to allocate for.
constexpr uint64_t kMaxDeflateRatio = 1032;

// Little-endian fields of a byte string whose length the caller has checked.
uint64_t le(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

}  // namespace

ZipReader::ZipReader(const std::string& path) : path_(path) {
  file_.open(path, std::ios::binary);
  if (!file_) throw FileError(path, "cannot open the file");
  file_.seekg(0, std::ios::end);
  file_size_ = static_cast<uint64_t>(file_.tellg());
  read_directory();
}

std::string ZipReader::read_at(uint64_t offset, uint64_t size, const std::string& what) {
  if (offset > file_size_ || size > file_size_ - offset) {
    throw FileError(path_, what + " lies outside the file (bytes " + std::to_string(offset) + ".." +
                               std::to_string(offset + size) + " of " + std::to_string(file_size_) +
                               "): truncated or corrupt zip archive");
  }
  std::string out(size, '\0');
  file_.clear();
  file_.seekg(static_cast<std::streamoff>(offset));
  file_.read(out.data(), static_cast<std::streamsize>(size));
  if (!file_) throw FileError(path_, "cannot read " + what);
  return out;
}

// Where the end-of-directory record (zip64's when the classic one saturates) says the central
// directory lies; `limit` is where the end records start, which the directory must not cross.
ZipReader::DirectorySpan ZipReader::locate_directory() {
  if (file_size_ < kEndOfDirectorySize) {
    throw FileError(path_, "not a zip archive: " + std::to_string(file_size_) +
                               " bytes, shorter than a zip's end record");
  }
  // The end record sits at the end, before a comment of at most 64 KiB.
  const uint64_t tail_size = std::min<uint64_t>(file_size_, kEndOfDirectorySize + kMaxCommentSize);
  const uint64_t tail_start = file_size_ - tail_size;
  const std::string tail = read_at(tail_start, tail_size, "the end of the archive");
  size_t end = std::string::npos;
  for (size_t i = tail.size() - kEndOfDirectorySize + 1; i-- > 0;) {
    if (le(tail, i, 4) == kEndOfDirectory) {
      end = i;
      break;
    }
  }
  if (end == std::string::npos) {
    throw FileError(path_, "not a zip archive, or one cut short: no end-of-directory record");
  }
  DirectorySpan span;
  span.count = le(tail, end + 10, 2);
  span.size = le(tail, end + 12, 4);
  span.offset = le(tail, end + 16, 4);
  span.limit = tail_start + end;  // the directory ends before the end record(s)
  if (span.count == 0xFFFF || span.size == 0xFFFFFFFF || span.offset == 0xFFFFFFFF) {
    read_zip64_end(span);
  }
  return span;
}

// A saturated field in the end record: the real values are in the zip64 end record, which the
// locator just before the end record points at.
void ZipReader::read_zip64_end(DirectorySpan& span) {
  const uint64_t end_offset = span.limit;
  if (end_offset < 20) throw FileError(path_, "zip64 archive without its locator record");
  const std::string locator = read_at(end_offset - 20, 20, "the zip64 locator");
  if (le(locator, 0, 4) != kZip64Locator) {
    throw FileError(path_, "zip64 archive without its locator record");
  }
  const uint64_t record_offset = le(locator, 8, 8);
  const std::string record = read_at(record_offset, 56, "the zip64 end-of-directory record");
  if (le(record, 0, 4) != kZip64EndOfDirectory) {
    throw FileError(path_, "the zip64 locator points at no zip64 end-of-directory record");
  }
  span.count = le(record, 32, 8);
  span.size = le(record, 40, 8);
  span.offset = le(record, 48, 8);
  span.limit = record_offset;
}

void ZipReader::read_directory() {
  const DirectorySpan span = locate_directory();
  if (span.offset > span.limit || span.size > span.limit - span.offset) {
    throw FileError(path_, "the central directory (offset " + std::to_string(span.offset) + ", " +
                               std::to_string(span.size) +
                               " bytes) lies outside the file: truncated or corrupt archive");
  }
  if (span.count > span.size / kCentralHeaderSize) {
    throw FileError(path_, "the directory claims " + std::to_string(span.count) + " entries in " +
                               std::to_string(span.size) + " bytes");
  }
  const std::string dir = read_at(span.offset, span.size, "the central directory");
  std::set<std::string> names;
  size_t at = 0;
  for (uint64_t i = 0; i < span.count; ++i) {
    CentralRecord r = read_central_header(dir, at, i);
    ZipEntry& e = r.entry;
    check_entry(e);
    if (!names.insert(e.name).second) {
      throw FileError(path_, "the archive holds two entries named '" + e.name + "'");
    }
    e.data_offset = data_offset(e, r.local_header, span.offset);
    entries_.push_back(std::move(e));
  }
}

// Directory entry `index`, which starts at `at` in `dir`; moves `at` past it.
ZipReader::CentralRecord ZipReader::read_central_header(const std::string& dir, size_t& at,
                                                        uint64_t index) const {
  const std::string which = "directory entry " + std::to_string(index);
  if (dir.size() - at < kCentralHeaderSize || le(dir, at, 4) != kCentralHeader) {
    throw FileError(path_, which + " is not a central-directory header");
  }
  CentralRecord r;
  ZipEntry& e = r.entry;
  const uint64_t flags = le(dir, at + 8, 2);
  e.method = static_cast<uint16_t>(le(dir, at + 10, 2));
  e.crc = static_cast<uint32_t>(le(dir, at + 16, 4));
  e.compressed_size = le(dir, at + 20, 4);
  e.size = le(dir, at + 24, 4);
  const size_t name_size = le(dir, at + 28, 2), extra_size = le(dir, at + 30, 2),
               comment_size = le(dir, at + 32, 2);
  r.local_header = le(dir, at + 42, 4);
  if (dir.size() - at - kCentralHeaderSize < name_size + extra_size + comment_size) {
    throw FileError(path_, which + " runs past the end of the directory");
  }
  e.name = dir.substr(at + kCentralHeaderSize, name_size);
  apply_zip64_extra(dir.substr(at + kCentralHeaderSize + name_size, extra_size), r);
  at += kCentralHeaderSize + name_size + extra_size + comment_size;
  if (flags & 1) throw FileError(path_, "entry '" + e.name + "' is encrypted");
  return r;
}

// zip64 extended information: 64-bit values for the fields saturated at 0xFFFFFFFF, in order.
void ZipReader::apply_zip64_extra(const std::string& extra, CentralRecord& r) const {
  ZipEntry& e = r.entry;
  for (size_t x = 0; x + 4 <= extra.size();) {
    const uint64_t id = le(extra, x, 2), len = le(extra, x + 2, 2);
    if (len > extra.size() - x - 4)
      throw FileError(path_, "entry '" + e.name + "': bad extra field");
    if (id == 0x0001) {
      size_t field = x + 4;
      for (uint64_t* v : {&e.size, &e.compressed_size, &r.local_header}) {
        if (*v != 0xFFFFFFFF) continue;
        if (field + 8 > x + 4 + len) {
          throw FileError(path_, "entry '" + e.name + "': zip64 field missing from its extra data");
        }
        *v = le(extra, field, 8);
        field += 8;
      }
    }
    x += 4 + len;
  }
}

// The method and sizes are believable before anything is allocated for the record.
void ZipReader::check_entry(const ZipEntry& e) const {
  if (e.method != 0 && e.method != 8) {
    throw FileError(path_, "entry '" + e.name + "' uses compression method " +
                               std::to_string(e.method) + " (only stored and deflated are read)");
  }
  if (e.method == 0 && e.compressed_size != e.size) {
    throw FileError(path_, "stored entry '" + e.name + "' has different sizes (" +
                               std::to_string(e.compressed_size) + " and " +
                               std::to_string(e.size) + ")");
  }
  if (e.method == 8 && e.size / kMaxDeflateRatio > e.compressed_size + 1) {
    throw FileError(path_, "entry '" + e.name + "' claims " + std::to_string(e.size) +
                               " bytes from " + std::to_string(e.compressed_size) +
                               " compressed: more than deflate can produce");
  }
}

// Where the record's bytes start, past its local header, which must lie before the directory.
uint64_t ZipReader::data_offset(const ZipEntry& e, uint64_t local_header, uint64_t dir_offset) {
  const std::string header =
      read_at(local_header, kLocalHeaderSize, "entry '" + e.name + "'s header");
  if (le(header, 0, 4) != kLocalHeader) {
    throw FileError(path_, "entry '" + e.name + "' points at no local header");
  }
  const uint64_t offset = local_header + kLocalHeaderSize + le(header, 26, 2) + le(header, 28, 2);
  if (offset > dir_offset || e.compressed_size > dir_offset - offset) {
    throw FileError(path_, "entry '" + e.name + "' (" + std::to_string(e.compressed_size) +
                               " bytes at " + std::to_string(offset) +
                               ") runs into the directory or past the file: truncated archive");
  }
  return offset;
}

const ZipEntry* ZipReader::find(const std::string& name) const {
  for (const ZipEntry& e : entries_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::string ZipReader::read(const ZipEntry& e) {
  const std::string what = "entry '" + e.name + "'";
  std::string raw = read_at(e.data_offset, e.compressed_size, what);
  std::string out;
  if (e.method == 0) {
    out = std::move(raw);
  } else {
    out.assign(e.size, '\0');
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
      throw FileError(path_, "cannot start inflating " + what);
    z.next_in = reinterpret_cast<Bytef*>(raw.data());
    z.avail_in = static_cast<uInt>(std::min<uint64_t>(raw.size(), UINT32_MAX));
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(std::min<uint64_t>(out.size(), UINT32_MAX));
    const int rc = inflate(&z, Z_FINISH);
    const uint64_t produced = z.total_out;
    inflateEnd(&z);
    if (rc != Z_STREAM_END || produced != e.size) {
      throw FileError(path_, what + " does not inflate to its declared " + std::to_string(e.size) +
                                 " bytes: corrupt archive");
    }
  }
  // zlib's CRC-32 (by chunks: its length argument is 32-bit) runs at memory speed on model files.
  uLong crc = ::crc32(0L, Z_NULL, 0);
  for (size_t done = 0; done < out.size();) {
    const uInt n = static_cast<uInt>(std::min<size_t>(out.size() - done, 1u << 30));
    crc = ::crc32(crc, reinterpret_cast<const Bytef*>(out.data() + done), n);
    done += n;
  }
  if (crc != e.crc) throw FileError(path_, what + " fails its CRC-32 check: corrupt archive");
  return out;
}

}  // namespace vlprompt::core
