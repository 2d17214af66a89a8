#include "src/image/prepared_store.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/hash.h"
#include "src/core/safetensors.h"
#include "src/image/clip_preprocess.h"

namespace vlprompt::image {
namespace {

constexpr const char* kFormat = "vlprompt.prepared_store/1";

std::string describe(const PreparedSource& s, size_t i) {
  return s.path.empty() ? "in-memory image " + std::to_string(i) : s.path;
}

// Decodes (or checks) one source and caps its short side as torchvision's Resize(int) would
// size it: short side -> max_short_side, long side int(max * long / short).
at::Tensor load_source(const PreparedSource& s, size_t i, int64_t max_short_side) {
  at::Tensor img;
  if (s.path.empty()) {
    const at::Tensor& p = s.pixels;
    if (!p.defined() || p.dim() != 3 || p.scalar_type() != at::kByte || p.size(2) != 3 ||
        p.size(0) < 1 || p.size(1) < 1) {
      throw Error("prepared store: " + describe(s, i) + " has no path and its pixels are " +
                  (p.defined() ? std::string(at::toString(p.scalar_type())) + " of shape " +
                                     c10::str(p.sizes())
                               : std::string("undefined")) +
                  ", expected uint8 [H, W, 3]");
    }
    img = p;
  } else {
    img = decode_rgb(s.path);
  }
  const int64_t h = img.size(0), w = img.size(1);
  const int64_t short_side = std::min(h, w), long_side = std::max(h, w);
  if (max_short_side > 0 && short_side > max_short_side) {
    const auto new_long = static_cast<int64_t>(static_cast<double>(max_short_side * long_side) /
                                               static_cast<double>(short_side));
    img = h <= w ? resize_bicubic(img.contiguous(), max_short_side, new_long)
                 : resize_bicubic(img.contiguous(), new_long, max_short_side);
  }
  return img.contiguous();
}

const at::Tensor& require_tensor(const core::TensorFile& f, const std::string& name,
                                 const std::string& path) {
  auto it = f.tensors.find(name);
  if (it == f.tensors.end())
    throw FileError(path, "prepared store lacks the tensor '" + name + "'");
  return it->second;
}

std::string require_meta(const core::Metadata& m, const std::string& key, const std::string& path) {
  auto it = m.find(key);
  if (it == m.end()) throw FileError(path, "prepared store metadata lacks '" + key + "'");
  return it->second;
}

// The store already at `path` when it was built from the same sources and serves this caller;
// nothing otherwise.
std::optional<PreparedStore> existing_store(const std::string& path, const std::string& hash,
                                            bool skip_unreadable) {
  if (!core::file_exists(path)) return std::nullopt;
  try {
    core::Metadata meta;
    core::read_safetensors_header(path, &meta);
    auto it = meta.find("source_hash");
    if (it != meta.end() && it->second == hash) {
      PreparedStore store = PreparedStore::open(path);
      // A store with skipped images does not serve a caller who wants every image.
      if (skip_unreadable || store.skipped().empty()) return store;
    }
  } catch (const Error&) {
    // A damaged or foreign file under the store's name is only a stale cache: rebuild it.
  }
  return std::nullopt;
}

// Each source's image, or the reason it could not be read ("" for none).
struct DecodedSources {
  std::vector<at::Tensor> images;
  std::vector<std::string> errors;
};

DecodedSources decode_sources(const std::vector<PreparedSource>& sources, int64_t max_short_side) {
  DecodedSources out;
  out.images.resize(sources.size());
  out.errors.resize(sources.size());
  // One image per task: decoding dominates, and images differ widely in cost.
  at::parallel_for(0, static_cast<int64_t>(sources.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const auto u = static_cast<size_t>(i);
      try {
        out.images[u] = load_source(sources[u], u, max_short_side);
      } catch (const std::exception& e) {
        out.errors[u] = e.what();
      }
    }
  });
  return out;
}

struct StoreLayout {
  at::Tensor index;    // int64 [N, 3]: offset, height, width of each image in the pixel bytes
  int64_t total = 0;   // pixel bytes
  int64_t failed = 0;  // unreadable sources
};

// Where each image goes in the pixel bytes. An unreadable source is an error naming it (and how
// many more failed), or with `skip_unreadable` an empty entry.
StoreLayout lay_out_store(const DecodedSources& decoded, const std::string& path,
                          bool skip_unreadable) {
  const auto& errors = decoded.errors;
  StoreLayout layout;
  layout.index = at::zeros({static_cast<int64_t>(errors.size()), 3}, at::kLong);
  int64_t* row = layout.index.data_ptr<int64_t>();
  layout.failed =
      std::count_if(errors.begin(), errors.end(), [](const std::string& e) { return !e.empty(); });
  for (size_t i = 0; i < errors.size(); ++i, row += 3) {
    if (!errors[i].empty()) {
      if (!skip_unreadable) {
        throw FileError(
            path, "cannot build the prepared store: " + errors[i] +
                      (layout.failed > 1
                           ? " (and " + std::to_string(layout.failed - 1) + " more unreadable)"
                           : std::string()));
      }
      row[0] = layout.total;  // 0 x 0 at the current offset: an empty, valid entry
      continue;
    }
    row[0] = layout.total;
    row[1] = decoded.images[i].size(0);
    row[2] = decoded.images[i].size(1);
    layout.total += decoded.images[i].numel();
  }
  return layout;
}

// The images' bytes at their offsets; each image is freed once copied, so peak memory stays near
// one copy of the images.
at::Tensor pack_pixels(std::vector<at::Tensor>& images, const StoreLayout& layout) {
  at::Tensor pixels = at::empty({layout.total}, at::kByte);
  uint8_t* dst = pixels.data_ptr<uint8_t>();
  const int64_t* rows = layout.index.data_ptr<int64_t>();
  at::parallel_for(0, static_cast<int64_t>(images.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      at::Tensor& img = images[static_cast<size_t>(i)];
      if (!img.defined()) continue;
      std::memcpy(dst + rows[3 * i], img.data_ptr<uint8_t>(), static_cast<size_t>(img.numel()));
      img = at::Tensor();
    }
  });
  return pixels;
}

}  // namespace

std::string PreparedStore::source_hash(const std::vector<PreparedSource>& sources,
                                       int64_t max_short_side) {
  core::Hasher h;
  h.update(std::string(kFormat)).update(std::to_string(max_short_side));
  h.update(std::to_string(sources.size()));
  for (const auto& s : sources) {
    if (s.path.empty()) {
      h.update(std::string("pixels"));
      if (s.pixels.defined()) h.update(s.pixels);
    } else {
      // Paths, not file contents: hashing every image would cost a read of the whole dataset
      // on each run, which is what the store exists to avoid.
      h.update(std::string("path")).update(s.path);
    }
  }
  return h.hex();
}

PreparedStore PreparedStore::build(const std::vector<PreparedSource>& sources,
                                   const std::string& path, int64_t max_short_side,
                                   bool skip_unreadable) {
  if (sources.empty()) throw FileError(path, "prepared store: no images given to store");
  const std::string hash = source_hash(sources, max_short_side);
  if (std::optional<PreparedStore> store = existing_store(path, hash, skip_unreadable)) {
    store->reused_ = true;
    return std::move(*store);
  }
  DecodedSources decoded = decode_sources(sources, max_short_side);
  const StoreLayout layout = lay_out_store(decoded, path, skip_unreadable);
  at::Tensor pixels = pack_pixels(decoded.images, layout);
  const core::Metadata meta{{"format", kFormat},
                            {"source_hash", hash},
                            {"max_short_side", std::to_string(max_short_side)},
                            {"count", std::to_string(sources.size())},
                            {"skipped", std::to_string(layout.failed)}};
  core::write_safetensors(path, {{"pixels", pixels}, {"index", layout.index}}, meta);

  PreparedStore store;
  store.path_ = path;
  store.source_hash_ = hash;
  store.max_short_side_ = max_short_side;
  store.pixels_ = std::move(pixels);
  store.index_ = layout.index;
  return store;
}

PreparedStore PreparedStore::open(const std::string& path) {
  const core::TensorFile f = core::read_safetensors(path);
  const std::string format = require_meta(f.metadata, "format", path);
  if (format != kFormat) {
    throw FileError(path, "metadata 'format' is '" + format + "', expected '" + kFormat + "'");
  }
  const at::Tensor& pixels = require_tensor(f, "pixels", path);
  const at::Tensor& index = require_tensor(f, "index", path);
  if (pixels.scalar_type() != at::kByte || pixels.dim() != 1) {
    throw FileError(path, "tensor 'pixels' is " + std::string(at::toString(pixels.scalar_type())) +
                              " " + c10::str(pixels.sizes()) + ", expected U8 [total bytes]");
  }
  if (index.scalar_type() != at::kLong || index.dim() != 2 || index.size(1) != 3) {
    throw FileError(path, "tensor 'index' is " + std::string(at::toString(index.scalar_type())) +
                              " " + c10::str(index.sizes()) + ", expected I64 [N, 3]");
  }
  const at::Tensor rows = index.contiguous();
  const int64_t* r = rows.data_ptr<int64_t>();
  for (int64_t i = 0; i < rows.size(0); ++i, r += 3) {
    const int64_t offset = r[0], h = r[1], w = r[2];
    const int64_t bytes = pixels.numel();
    bool ok = offset >= 0 && h >= 0 && w >= 0 && (h == 0) == (w == 0) && offset <= bytes;
    if (ok && h > 0) ok = w <= (bytes - offset) / 3 / h;  // h * w * 3 fits, without overflow
    if (!ok) {
      throw FileError(path, "tensor 'index' row " + std::to_string(i) + " (offset " +
                                std::to_string(offset) + ", " + std::to_string(h) + " x " +
                                std::to_string(w) + ") lies outside the " +
                                std::to_string(pixels.numel()) + " bytes of 'pixels'");
    }
  }
  PreparedStore store;
  store.path_ = path;
  store.source_hash_ = require_meta(f.metadata, "source_hash", path);
  try {
    store.max_short_side_ = std::stoll(require_meta(f.metadata, "max_short_side", path));
  } catch (const std::logic_error&) {
    throw FileError(path, "metadata 'max_short_side' is not an integer");
  }
  store.pixels_ = pixels;
  store.index_ = rows;
  return store;
}

bool PreparedStore::has_image(int64_t i) const {
  if (i < 0 || i >= size()) {
    throw Error("prepared store " + path_ + ": image " + std::to_string(i) + " out of range (" +
                std::to_string(size()) + " images)");
  }
  return index_.data_ptr<int64_t>()[3 * i + 1] > 0;
}

at::Tensor PreparedStore::image(int64_t i) const {
  if (!has_image(i)) {
    throw Error("prepared store " + path_ + ": image " + std::to_string(i) +
                " was unreadable when the store was built (skipped)");
  }
  const int64_t* r = index_.data_ptr<int64_t>() + 3 * i;
  return pixels_.narrow(0, r[0], r[1] * r[2] * 3).view({r[1], r[2], 3});
}

std::vector<int64_t> PreparedStore::skipped() const {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < size(); ++i) {
    if (!has_image(i)) out.push_back(i);
  }
  return out;
}

}  // namespace vlprompt::image
