#include "datasets/digits.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

#include "datasets/idx.h"
#include "datasets/paths.h"
#include "src/core/error.h"
#include "src/image/clip_preprocess.h"

namespace vlprompt::datasets {
namespace {

constexpr int64_t kCell = 20, kSheetCols = 100, kRowsPerDigit = 5;

// A gray [H, W] uint8 image as RGB [H, W, 3] (contiguous: records own their pixels).
at::Tensor gray_to_rgb(const at::Tensor& gray) {
  return gray.unsqueeze(2).repeat({1, 1, 3}).contiguous();
}

// Every digit image of the file, grouped by label.
std::vector<std::vector<at::Tensor>> read_sheet(const std::string& path) {
  const at::Tensor rgb = image::decode_rgb(path);
  if (rgb.size(0) != 10 * kRowsPerDigit * kCell || rgb.size(1) != kSheetCols * kCell) {
    throw FileError(path, "is " + std::to_string(rgb.size(1)) + "x" + std::to_string(rgb.size(0)) +
                              " pixels; expected OpenCV's digits.png, 2000x1000 (20x20 cells)");
  }
  const at::Tensor gray = rgb.select(2, 0);
  std::vector<std::vector<at::Tensor>> by_label(10);
  for (int64_t row = 0; row < 10 * kRowsPerDigit; ++row) {
    for (int64_t col = 0; col < kSheetCols; ++col) {
      const at::Tensor cell =
          gray.slice(0, row * kCell, (row + 1) * kCell).slice(1, col * kCell, (col + 1) * kCell);
      by_label[row / kRowsPerDigit].push_back(gray_to_rgb(cell));
    }
  }
  return by_label;
}

std::vector<std::vector<at::Tensor>> read_csv(const std::string& path) {
  std::istringstream in(read_maybe_gzip(path));
  std::vector<std::vector<at::Tensor>> by_label(10);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<int64_t> values;
    std::istringstream fields(line);
    std::string field;
    try {
      while (std::getline(fields, field, ',')) values.push_back(std::stoll(field));
    } catch (const std::exception&) {
      throw FileError(path, "line " + std::to_string(number) + ": '" + field + "' is not a number");
    }
    if (values.size() != 65) {
      throw FileError(path, "line " + std::to_string(number) + " has " +
                                std::to_string(values.size()) +
                                " values; expected 64 pixels (0..16) and a label (0..9)");
    }
    const int64_t label = values.back();
    if (label < 0 || label > 9) {
      throw FileError(path, "line " + std::to_string(number) + ": label " + std::to_string(label) +
                                " is not a digit 0..9");
    }
    at::Tensor gray = at::empty({8, 8}, at::kByte);
    uint8_t* px = gray.data_ptr<uint8_t>();
    for (int i = 0; i < 64; ++i) {
      if (values[i] < 0 || values[i] > 16) {
        throw FileError(path, "line " + std::to_string(number) + ": pixel value " +
                                  std::to_string(values[i]) + " is outside 0..16");
      }
      px[i] = static_cast<uint8_t>((values[i] * 255 + 8) / 16);
    }
    by_label[label].push_back(gray_to_rgb(gray));
  }
  return by_label;
}

}  // namespace

std::vector<int64_t> held_out_indices(int64_t count, double fraction, int64_t seed, int64_t label) {
  std::vector<int64_t> order(count);
  for (int64_t i = 0; i < count; ++i) order[i] = i;
  std::mt19937_64 rng(static_cast<uint64_t>(seed) * 1000003ull + static_cast<uint64_t>(label));
  for (int64_t i = count - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  const int64_t held = std::llround(static_cast<double>(count) * fraction);
  std::vector<int64_t> out(order.end() - held, order.end());
  std::sort(out.begin(), out.end());
  return out;
}

DatasetSplit load_digits(const CatalogEntry& entry, const std::string& dir,
                         const std::string& split) {
  const std::string path = join_path(dir, entry.data_file);
  const auto by_label = entry.layout == "digits_sheet" ? read_sheet(path) : read_csv(path);
  DatasetSplit out;
  out.classnames = entry.classnames;
  const bool test = split == "test";
  for (int64_t label = 0; label < 10; ++label) {
    const auto& images = by_label[label];
    if (images.empty()) throw FileError(path, "has no image of digit " + std::to_string(label));
    const auto held = held_out_indices(static_cast<int64_t>(images.size()), entry.test_fraction,
                                       entry.split_seed, label);
    size_t next = 0;
    for (int64_t i = 0; i < static_cast<int64_t>(images.size()); ++i) {
      const bool is_held = next < held.size() && held[next] == i;
      if (is_held) ++next;
      if (is_held != test) continue;
      ImageRecord r;
      r.pixels = images[i];
      r.label = label;
      out.items.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace vlprompt::datasets
