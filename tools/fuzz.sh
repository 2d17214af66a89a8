#!/usr/bin/env bash
# Fuzzes one reader of untrusted files with libFuzzer, AddressSanitizer and UBSan.
#
#   tools/fuzz.sh TARGET SECONDS [libFuzzer flags...]   fuzz TARGET for SECONDS
#   tools/fuzz.sh --list                                the targets (tests/fuzz/targets/)
#   tools/fuzz.sh --merge TARGET                        add the inputs found that reach new code
#                                                       to the seed corpus, minimised
#
# build-fuzz/ (clang, -fsanitize=fuzzer,address,undefined) is built on first use. The seeds in
# tests/fuzz/corpus/TARGET are read, never written: new inputs go to build-fuzz/corpus/TARGET. A
# finding (crash, sanitizer report, escaped exception, an input slower than 10 s, more than 2 GB)
# leaves its input in build-fuzz/findings/TARGET/ and makes this exit non-zero; replay it with
# build-fuzz/tests/fuzz/fuzz_TARGET FILE, or add it to the seed corpus once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."

targets() { ls tests/fuzz/targets/ | sed -n 's/_fuzz\.cpp$//p'; }

usage() {
  echo "usage: tools/fuzz.sh TARGET SECONDS [libFuzzer flags...] | --list | --merge TARGET" >&2
  echo "targets: $(targets | tr '\n' ' ')" >&2
  exit 2
}

[ $# -ge 1 ] || usage
if [ "$1" = "--list" ]; then targets; exit 0; fi
merge=0
if [ "$1" = "--merge" ]; then merge=1; shift; [ $# -eq 1 ] || usage; else [ $# -ge 2 ] || usage; fi
target="$1"
targets | grep -qx "$target" || { echo "unknown fuzz target '$target'" >&2; usage; }

if [ "$merge" = 0 ]; then
  seconds="$2"
  [[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || {
    echo "SECONDS must be a positive integer, got '$seconds'" >&2
    exit 2
  }
fi

if ! command -v clang++ >/dev/null; then
  echo "clang++ not found: install clang and libclang-rt-dev (tools/setup.sh does)" >&2
  exit 1
fi
export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
export CCACHE_BASEDIR="$PWD" CCACHE_DEPEND=true
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [ ! -f build-fuzz/build.ninja ]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
    -DVLPROMPT_FUZZ=ON "${launcher[@]}" >/dev/null
fi
cmake --build build-fuzz -j"$(nproc)" --target "fuzz_${target}"

exe="build-fuzz/tests/fuzz/fuzz_${target}"
seeds="tests/fuzz/corpus/${target}"
work="build-fuzz/corpus/${target}"
findings="build-fuzz/findings/${target}"
mkdir -p "$work" "$findings"
# OpenMP workers only steal the fuzzer's CPU; leaks are findings too.
export OMP_NUM_THREADS=1
# One frame of allocation stack while fuzzing (full stacks when a finding is replayed): the
# libraries we call (yaml-cpp, LibTorch, OpenCV) have no frame pointers, so deeper stacks are
# garbage, every one unique, and ASan's stack depot grew until `config` ran 14x slower after
# 20 minutes. A smaller quarantine keeps the allocator out of page faults.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:malloc_context_size=1:quarantine_size_mb=64}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tools/sanitizer/lsan.supp:print_suppressions=0}"

if [ "$merge" = 1 ]; then
  # Keeps the seeds and adds only the found inputs that cover something the seeds do not.
  "$exe" -merge=1 -rss_limit_mb=2048 "$seeds" "$work"
  exit 0
fi

shift 2
# Runs of one target may go side by side, one per core: they share the work corpus, and each
# has its own log.
log="build-fuzz/fuzz_${target}.$$.log"
set +e
"$exe" "$work" "$seeds" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$findings/" "$@" >"$log" 2>&1
status=$?
set -e
if [ "$status" -ne 0 ]; then tail -n 60 "$log"; fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
echo "fuzz ${target}: ${runs:-?} executions in ${seconds} s, exit ${status} (log: ${log})"
exit "$status"
