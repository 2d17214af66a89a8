// Direct calls to the process's BLAS sgemm_ (found at run time, so builds whose LibTorch carries
// its BLAS inside, like the CUDA wheels, simply go without). ATen's mm/addmm take no leading
// dimension for the output and copy through a temporary for any strided result; attention heads
// read from and write into interleaved layouts, where that copy is most of the non-GEMM time.
#pragma once

#include <cstdint>

namespace vlprompt::nn {

// Whether sgemm_ was found (once per process).
bool has_blas_sgemm();

// Row-major C[m, n] = alpha * A[m, k] * op(B) + beta * C with row strides lda, ldb, ldc (unit
// column strides); op(B) = B[k, n] or, with `b_transposed`, the transpose of B stored as [n, k].
// Runs single-threaded inside an OpenMP parallel region (OpenBLAS's own rule).
void blas_sgemm_row_major(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                          const float* b, int64_t ldb, bool b_transposed, float beta, float* c,
                          int64_t ldc);

// The same with op(A) = A[m, k] or, with `a_transposed`, the transpose of A stored as [k, m].
void blas_sgemm_row_major(bool a_transposed, bool b_transposed, int64_t m, int64_t n, int64_t k,
                          float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
                          float beta, float* c, int64_t ldc);

}  // namespace vlprompt::nn
