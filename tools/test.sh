#!/usr/bin/env bash
# Set-up + build + every test (ctest). Tests that need ../shared skip visibly when it is absent,
# and fail under CI=true. Extra arguments go to ctest (-R pattern, -j N, ...).
#
#   tools/test.sh              the Release build in build/ (what CI runs)
#   tools/test.sh --sanitize   the whole suite built with AddressSanitizer + UBSan in
#                              build-sanitize/ (RelWithDebInfo; slower, outside CI): any memory
#                              error, leak or undefined behaviour fails the test that hit it
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--sanitize" ]; then
  shift
  VLPROMPT_SKIP_BUILD=1 tools/setup.sh
  export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
  export CCACHE_BASEDIR="$PWD" CCACHE_DEPEND=true
  cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVLPROMPT_SANITIZE=ON \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
  cmake --build build-sanitize -j"$(nproc)"
  # Every process a test starts (the CLI, the fuzz replays) inherits these.
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
  export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tools/sanitizer/lsan.supp:print_suppressions=0}"
  cd build-sanitize
  ctest --output-on-failure -j"$(nproc)" --timeout 3600 "$@"
  exit
fi
tools/setup.sh
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 1200 "$@"
