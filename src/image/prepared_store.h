// The prepared-image store: every training image decoded ONCE into one uint8 file, so epochs
// after the first cost no JPEG decoding; augmentation then works on views into it.
//
// File: a safetensors file with
//   "pixels"  U8  [total bytes]  all images, RGB HWC, concatenated
//   "index"   I64 [N, 3]         per image (byte offset, height, width); 0 x 0 = skipped
// and metadata {format, source_hash, max_short_side, count}. The source hash covers the list of
// sources (paths, or the bytes of in-memory images) and max_short_side, so a changed list
// rebuilds the store and an unchanged one reuses it.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vlprompt::image {

// One image to store: a file to decode, or (when `path` is empty) uint8 [H, W, 3] pixels.
struct PreparedSource {
  std::string path;
  at::Tensor pixels;
};

class PreparedStore {
 public:
  // With the short side at 448, a RandomResizedCrop to 224 that covers at least a quarter of the
  // image (about 80% of draws with scale 0.08-1) still has >= 224 source pixels a side, so it is
  // a pure downscale as from the original; the eval transform needs only 224. Each image then
  // costs <= ~0.8 MB (448 x 597 x 3 at 4:3), so a 16-shot, 100-class store stays near 1 GB
  // where full-size photos would take several times that.
  static constexpr int64_t kDefaultMaxShortSide = 448;

  // Reuses the store at `path` when it exists and its source hash matches; otherwise decodes
  // every source (in parallel), downscales those whose short side exceeds `max_short_side`
  // (Pillow-exact bicubic; <= 0 keeps full size) and writes the store atomically. An unreadable
  // file is an Error naming it, or with `skip_unreadable` an empty 0 x 0 entry (see skipped()),
  // so store indices always equal source indices. The whole store is held in memory while
  // written: meant for few-shot training sets, not for all of ImageNet.
  static PreparedStore build(const std::vector<PreparedSource>& sources, const std::string& path,
                             int64_t max_short_side = kDefaultMaxShortSide,
                             bool skip_unreadable = false);

  // Opens an existing store (no source check); FileError naming the file and tensor when it is
  // not a valid store.
  static PreparedStore open(const std::string& path);

  // The hash build() compares against the store's metadata.
  static std::string source_hash(const std::vector<PreparedSource>& sources,
                                 int64_t max_short_side);

  int64_t size() const { return index_.size(0); }

  // uint8 [H, W, 3], a view into the store's memory (no copy; keep the store alive). Error for an
  // index out of range or an image skipped as unreadable.
  at::Tensor image(int64_t i) const;

  // Whether image i was decoded (false for sources skipped as unreadable).
  bool has_image(int64_t i) const;
  std::vector<int64_t> skipped() const;

  const std::string& path() const { return path_; }
  const std::string& stored_source_hash() const { return source_hash_; }
  int64_t max_short_side() const { return max_short_side_; }
  bool reused() const { return reused_; }  // build() found a matching store and decoded nothing

 private:
  PreparedStore() = default;

  std::string path_;
  std::string source_hash_;
  int64_t max_short_side_ = 0;
  bool reused_ = false;
  at::Tensor pixels_;  // uint8 [total]
  at::Tensor index_;   // int64 [N, 3]
};

}  // namespace vlprompt::image
