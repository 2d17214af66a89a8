// Paths of the files tests/fixtures/make_image_fixtures.py writes (ctest runs it first; by hand:
// /usr/bin/python3 tests/fixtures/make_image_fixtures.py --out <build>/fixtures --shared ...).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "src/core/npy.h"

namespace vlprompt::testing {

inline std::string image_fixture(const std::string& name) {
  return std::string(VLPROMPT_FIXTURE_DIR) + "/image/" + name;
}

inline at::Tensor image_fixture_npy(const std::string& stem) {
  const std::string path = image_fixture(stem + ".npy");
  EXPECT_TRUE(std::filesystem::exists(path))
      << path << " is missing: run tests/fixtures/make_image_fixtures.py (ctest does)";
  return core::read_npy(path);
}

inline int64_t max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kLong) - b.to(at::kLong)).abs().max().item<int64_t>();
}

}  // namespace vlprompt::testing
