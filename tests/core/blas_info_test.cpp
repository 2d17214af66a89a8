// The BLAS this process runs on: the test binary is linked like vlprompt (RPATH to the OpenMP
// OpenBLAS), so it must report that build whatever update-alternatives selects.
#include "src/core/blas_info.h"

#include <gtest/gtest.h>

namespace vlprompt::core {
namespace {

TEST(BlasInfo, ReportsTheOpenMPOpenBLASThatTheRpathPins) {
#ifndef VLPROMPT_PINNED_OPENBLAS_DIR
  GTEST_SKIP() << "built with -DVLPROMPT_PIN_OPENBLAS_OPENMP=OFF: no BLAS is pinned";
#else
  const BlasInfo blas = loaded_blas();
  EXPECT_EQ(blas.kind, "openblas-openmp") << blas.summary();
  EXPECT_EQ(blas.library.rfind(VLPROMPT_PINNED_OPENBLAS_DIR, 0), 0u) << blas.summary();
  EXPECT_GE(blas.threads, 1);
  EXPECT_NE(blas.config.find("USE_OPENMP"), std::string::npos) << blas.config;
  EXPECT_EQ(blas.warning(), "");
#endif
}

TEST(BlasInfo, SlowBuildsGetAOneLineWarningWithTheFix) {
  for (const char* kind : {"openblas-pthread", "reference", "openblas-serial"}) {
    BlasInfo b;
    b.kind = kind;
    b.library = "/usr/lib/x/libblas.so.3";
    const std::string w = b.warning();
    EXPECT_EQ(w.rfind("warning: BLAS is", 0), 0u) << w;
    EXPECT_NE(w.find("/usr/lib/x/libblas.so.3"), std::string::npos) << w;
    EXPECT_NE(w.find("libopenblas0-openmp"), std::string::npos) << w;
    EXPECT_EQ(w.find('\n'), std::string::npos) << w;
  }
  for (const char* kind : {"openblas-openmp", "mkl", "built-in"}) {
    BlasInfo b;
    b.kind = kind;
    EXPECT_EQ(b.warning(), "") << kind;
  }
}

}  // namespace
}  // namespace vlprompt::core
