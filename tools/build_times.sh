#!/usr/bin/env bash
# Compile-seconds per target from the last build's ninja log (build/.ninja_log), largest first,
# with the total: where a cold build spends its time.
#   tools/build_times.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
LOG="${1:-build}/.ninja_log"
[ -f "$LOG" ] || { echo "error: $LOG not found (build first)" >&2; exit 1; }
# The log keeps every edge ever built; the last entry of each output is the latest build.
awk -F'\t' '!/^#/ { last[$4] = ($2 - $1) / 1000.0 }
  END {
    for (out in last) {
      t = out
      if (match(t, /CMakeFiles\/[^\/]+\.dir/)) { t = substr(t, RSTART + 11, RLENGTH - 15) }
      else if (t ~ /\.(a|so)$/ || t !~ /\.o$|\.gch$/) { t = "link/other: " t }
      sum[t] += last[out]; n[t] += 1; total += last[out]
    }
    for (t in sum) printf "%9.1f s  %3d steps  %s\n", sum[t], n[t], t
    printf "%9.1f s  total (compile + link seconds, summed over parallel jobs)\n", total > "/dev/stderr"
  }' "$LOG" | sort -rn
