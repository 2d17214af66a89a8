// CoOp split files (split_zhou_<Dataset>.json). Beyond refusing malformed entries, no accepted
// path may leave the image root: a split file must never make vlprompt read arbitrary files.
#include <filesystem>
#include <fstream>

#include "datasets/coop_split.h"
#include "tests/fuzz/fuzz_target.h"

namespace fs = std::filesystem;
namespace fz = vlprompt::fuzz;
namespace ds = vlprompt::datasets;

namespace {

// A small image root, with a file outside it that a traversal would reach.
const std::string& image_root() {
  static const std::string root = [] {
    const std::string r = fz::scratch_dir() + "/images";
    fs::create_directories(r + "/cat");
    for (const char* f : {"/cat/a.jpg", "/b.jpg", "/../outside.jpg"}) std::ofstream(r + f) << "x";
    return r;
  }();
  return root;
}

bool inside(const std::string& path, const std::string& root) {
  const fs::path rel = fs::weakly_canonical(path).lexically_relative(fs::weakly_canonical(root));
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

VLPROMPT_FUZZ_TARGET(coop_split) {
  const std::string path = fz::write_input(data, size, "split.json");
  ds::LoadOptions opts;
  opts.skip_missing = size > 0 && (data[0] & 1);
  const int64_t num_classes = size > 1 ? data[1] % 4 : 0;
  for (const char* split : {"train", "val", "test"}) {
    const ds::DatasetSplit s = ds::read_coop_split(path, image_root(), split, num_classes, opts);
    for (const auto& item : s.items) {
      if (!inside(item.path, image_root())) fz::fail("split file reached " + item.path);
      if (item.label < 0 || item.label >= static_cast<int64_t>(s.classnames.size())) {
        fz::fail("label out of range accepted");
      }
    }
  }
}
