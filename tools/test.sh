#!/usr/bin/env bash
# Set-up + build + every test (ctest). Tests that need ../shared skip visibly when it is absent,
# and fail under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 1200 "$@"
