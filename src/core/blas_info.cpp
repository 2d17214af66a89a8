#include "src/core/blas_info.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <filesystem>

namespace vlprompt::core {
namespace {

template <typename Fn>
Fn find_symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

std::string real_path(const char* path) {
  char buf[PATH_MAX];
  return realpath(path, buf) ? std::string(buf) : std::string(path);
}

// Debian installs each BLAS build in its own folder; the folder names the build.
std::string kind_from_path(const std::string& lib) {
  const std::string dir = std::filesystem::path(lib).parent_path().filename().string();
  if (dir == "openblas-openmp") return "openblas-openmp";
  if (dir == "openblas-pthread") return "openblas-pthread";
  if (dir == "openblas-serial") return "openblas-serial";
  if (dir == "blas") return "reference";
  if (dir == "atlas") return "atlas";
  if (lib.find("mkl") != std::string::npos) return "mkl";
  if (lib.find("openblas") != std::string::npos) {
    // A non-Debian OpenBLAS: ask it how it was built (0 serial, 1 pthread, 2 OpenMP).
    if (auto parallel = find_symbol<int (*)()>("openblas_get_parallel")) {
      const int p = parallel();
      return p == 2 ? "openblas-openmp" : p == 1 ? "openblas-pthread" : "openblas-serial";
    }
  }
  return "unknown";
}

}  // namespace

BlasInfo loaded_blas() {
  BlasInfo info;
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info where{};
  if (!sgemm || !dladdr(sgemm, &where) || !where.dli_fname) {
    info.kind = "built-in";
    return info;
  }
  info.library = real_path(where.dli_fname);
  info.kind = kind_from_path(info.library);
  if (info.kind.rfind("openblas", 0) == 0) {
    if (auto n = find_symbol<int (*)()>("openblas_get_num_threads")) info.threads = n();
    if (auto c = find_symbol<char* (*)()>("openblas_get_config")) info.config = c();
  }
  return info;
}

std::string BlasInfo::summary() const {
  std::string s = kind;
  if (threads > 0) s += ", " + std::to_string(threads) + " threads";
  if (!library.empty()) s += ", " + library;
  return s;
}

std::string BlasInfo::warning() const {
  const char* fix =
      "install libopenblas0-openmp and rebuild with tools/setup.sh (it links vlprompt to the "
      "OpenMP build), or remove LD_PRELOAD/LD_LIBRARY_PATH entries that replace it";
  if (kind == "openblas-pthread") {
    return "warning: BLAS is OpenBLAS's pthread build (" + library +
           "), which fights LibTorch's OpenMP threads (~2.5x slower); " + fix;
  }
  if (kind == "reference" || kind == "atlas") {
    return "warning: BLAS is the " + kind + " BLAS (" + library + "), ~30x slower than OpenBLAS; " +
           fix;
  }
  if (kind == "openblas-serial") {
    return "warning: BLAS is OpenBLAS's single-threaded build (" + library + "); " + fix;
  }
  return "";
}

}  // namespace vlprompt::core
