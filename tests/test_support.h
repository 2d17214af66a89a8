// Helpers shared by the tests: where ../shared data lives, and the rule for when it is absent —
// skip with a visible message on a user's machine, fail under CI (CI=true).
#pragma once

#include <gtest/gtest.h>
#include <time.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "src/core/error.h"

namespace vlprompt::testing {

inline std::string shared_dir() {
  if (const char* env = std::getenv("VLPROMPT_SHARED_DIR")) return env;
  return VLPROMPT_SHARED_DIR_DEFAULT;
}

inline std::string shared_path(const std::string& rel) { return shared_dir() + "/" + rel; }

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

// Directory for files a test writes, under a folder per test folder (tests/<folder>/), taken from
// the calling file's path.
inline std::string scratch_dir(const std::string& name, const char* caller = __builtin_FILE()) {
  const std::string folder = std::filesystem::path(caller).parent_path().filename().string();
  auto p = std::filesystem::path(VLPROMPT_TEST_SCRATCH) / folder / name;
  std::filesystem::create_directories(p);
  return p.string();
}

inline std::string source_path(const std::string& rel) {
  return std::string(VLPROMPT_SOURCE_DIR) + "/" + rel;
}

// The message of the vlprompt::Error `f` throws; fails the test when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const vlprompt::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a vlprompt::Error";
  return "(no error)";
}

// CPU seconds the calling thread spent in `f`. Tests that bound the work of a single-threaded
// step use this, not wall time: CI shares its cores with other tests, which stretches wall time
// but not the work done.
inline double thread_cpu_seconds(const std::function<void()>& f) {
  const auto now = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
  };
  const double start = now();
  f();
  return now() - start;
}

// OpenAI's vocabulary as the project ships it (models/vocab/): tests need no ../shared for it.
inline std::string clip_vocab() { return source_path("models/vocab/bpe_simple_vocab_16e6.txt.gz"); }

}  // namespace vlprompt::testing

// Use at the top of a test that reads ../shared: skips (visibly) when the file is absent, but
// fails under CI where ../shared must be present.
#define VLP_REQUIRE_SHARED(rel)                                                            \
  do {                                                                                     \
    const std::string vlp_p = ::vlprompt::testing::shared_path(rel);                       \
    if (!std::filesystem::exists(vlp_p)) {                                                 \
      if (::vlprompt::testing::running_in_ci()) FAIL() << "missing shared data " << vlp_p; \
      GTEST_SKIP() << "shared data absent: " << vlp_p;                                     \
    }                                                                                      \
  } while (0)
