// Which BLAS this process really runs on. Debian picks libblas.so.3 through update-alternatives,
// and a pthread or reference build silently costs 2.5x to 30x; every command reports it.
#pragma once

#include <string>

namespace vlprompt::core {

struct BlasInfo {
  // The shared object that provides sgemm_ to the process (symlinks resolved); empty when no
  // sgemm_ is exported (a LibTorch with its BLAS linked in statically).
  std::string library;
  // openblas-openmp | openblas-pthread | openblas-serial | reference | mkl | built-in | unknown
  std::string kind;
  int threads = -1;    // the BLAS's own thread count where it says (OpenBLAS), else -1
  std::string config;  // openblas_get_config() where present
  // A one-line warning with the fix for a BLAS known to be slow here; empty when fine.
  std::string warning() const;
  std::string summary() const;  // "openblas-openmp, 2 threads, /usr/lib/.../libblas.so.3"
};

BlasInfo loaded_blas();

}  // namespace vlprompt::core
