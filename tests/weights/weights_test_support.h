// Helpers for tests/weights: fixture paths (made by tests/fixtures/make_clip_fixtures.py),
// exact tensor-set comparison, and capturing error messages.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>

#include "src/core/error.h"
#include "src/core/safetensors.h"
#include "tests/test_support.h"

namespace vlprompt::testing {

// The shared reference: a tiny ViT CLIP traced from OpenAI's code.
inline const char* const kTinyVitPt = "data/clip/reference_tiny_vit/tiny_vit.pt";

inline std::string clip_fixture(const std::string& name) {
  return std::string(VLPROMPT_FIXTURE_DIR) + "/clip/" + name;
}

using vlprompt::testing::error_of;

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Same names, dtypes, shapes and bytes.
inline void expect_identical(const core::TensorMap& a, const core::TensorMap& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) {
    auto it = b.find(name);
    ASSERT_NE(it, b.end()) << "missing " << name;
    EXPECT_EQ(t.scalar_type(), it->second.scalar_type()) << name;
    EXPECT_EQ(t.sizes(), it->second.sizes()) << name;
    EXPECT_TRUE(t.sizes() == it->second.sizes() && at::equal(t, it->second)) << name;
  }
}

}  // namespace vlprompt::testing

#define EXPECT_CONTAINS(text, part) \
  EXPECT_TRUE(::vlprompt::testing::contains(text, part)) << "in: " << (text)

// Skips (visibly) when a Python-made fixture is absent (test binary run outside ctest); fails
// under CI, where the fixture script always runs first.
#define VLP_REQUIRE_FIXTURE(name)                                                             \
  do {                                                                                        \
    const std::string vlp_f = ::vlprompt::testing::clip_fixture(name);                        \
    if (!std::filesystem::exists(vlp_f)) {                                                    \
      if (::vlprompt::testing::running_in_ci()) FAIL() << "missing fixture " << vlp_f;        \
      GTEST_SKIP() << "fixture absent (run ctest, or tests/fixtures/make_clip_fixtures.py): " \
                   << vlp_f;                                                                  \
    }                                                                                         \
  } while (0)
