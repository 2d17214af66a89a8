// `vlprompt --version` says which BLAS the binary runs on, and every command warns in one line
// when it is a slow one (here: Debian's reference BLAS forced in with LD_PRELOAD).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "tests/cli/cli_test_support.h"

namespace vlprompt::testing {
namespace {

TEST(BlasCli, VersionNamesTheBlasInUse) {
  const CliResult r = run_cli("--version");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("vlprompt "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("blas: "), std::string::npos) << r.output;
#ifdef VLPROMPT_PINNED_OPENBLAS_DIR
  EXPECT_NE(r.output.find("blas: openblas-openmp"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("warning"), std::string::npos) << r.output;
#endif
}

TEST(BlasCli, AReferenceBlasForcedInIsReportedWithAWarning) {
  const std::string reference = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3";
  if (!std::filesystem::exists(reference)) {
    // tools/setup.sh installs it (libblas3): CI must have it.
    if (running_in_ci()) FAIL() << reference << " is not installed";
    GTEST_SKIP() << reference << " (Debian's reference BLAS, libblas3) is not installed";
  }
  setenv("LD_PRELOAD", reference.c_str(), 1);
  const CliResult r = run_cli("--version");
  unsetenv("LD_PRELOAD");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("blas: reference"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("warning: BLAS is the reference BLAS"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace vlprompt::testing
