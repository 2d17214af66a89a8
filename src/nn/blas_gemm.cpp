#include "src/nn/blas_gemm.h"

#include <dlfcn.h>

#include <climits>
#include <string>

#include "src/core/error.h"
#include "src/core/gemm_trace.h"

namespace vlprompt::nn {
namespace {

// The Fortran BLAS interface: column-major, every argument by pointer.
using Sgemm = void (*)(const char*, const char*, const int*, const int*, const int*, const float*,
                       const float*, const int*, const float*, const int*, const float*, float*,
                       const int*);

Sgemm sgemm() {
  static const Sgemm fn = reinterpret_cast<Sgemm>(dlsym(RTLD_DEFAULT, "sgemm_"));
  return fn;
}

int as_int(int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX) {
    throw Error(std::string("blas_sgemm: ") + what + " = " + std::to_string(v) +
                " does not fit the BLAS's 32-bit integers");
  }
  return static_cast<int>(v);
}

}  // namespace

bool has_blas_sgemm() { return sgemm() != nullptr; }

void blas_sgemm_row_major(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                          const float* b, int64_t ldb, bool b_transposed, float beta, float* c,
                          int64_t ldc) {
  blas_sgemm_row_major(false, b_transposed, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void blas_sgemm_row_major(bool a_transposed, bool b_transposed, int64_t m, int64_t n, int64_t k,
                          float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
                          float beta, float* c, int64_t ldc) {
  const Sgemm fn = sgemm();
  if (!fn) throw Error("blas_sgemm: this process has no BLAS sgemm_");
  core::trace_gemm(m, k, n);
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands. A
  // row-major matrix is its own transpose read column-major, so a stored transpose reads 'T'.
  const int M = as_int(n, "n"), N = as_int(m, "m"), K = as_int(k, "k");
  const int LDA = as_int(ldb, "ldb"), LDB = as_int(lda, "lda"), LDC = as_int(ldc, "ldc");
  const char ta = b_transposed ? 'T' : 'N', tb = a_transposed ? 'T' : 'N';
  fn(&ta, &tb, &M, &N, &K, &alpha, b, &LDA, a, &LDB, &beta, c, &LDC);
}

}  // namespace vlprompt::nn
