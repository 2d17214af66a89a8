#!/usr/bin/env bash
# Installs everything vlprompt needs from Debian, selects the OpenMP OpenBLAS as the system BLAS,
# then configures and builds Release with ccache. Idempotent; run as root (or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libgloo-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libsentencepiece-dev libgtest-dev
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev zlib1g-dev libicu-dev libssl-dev
  libcpp-httplib-dev wrk curl jq
  libopenblas0-openmp libblas3
  dataset-fashion-mnist
  python3-torch python3-numpy python3-pil python3-yaml
  sentencepiece python3-sentencepiece fortunes fortunes-min
  clang libclang-rt-dev
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's reference BLAS is ~30x slower than OpenBLAS, and OpenBLAS's pthread build fights
# libtorch's OpenMP threads; the OpenMP build is the one to use (README, "Build and BLAS"). The
# vlprompt binaries load it by RPATH whatever the alternatives say; the alternatives are pinned as
# well so that Python peers (tools/bench_vs_pytorch.sh, the fixture makers) run on the same BLAS.
arch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
openmp="/usr/lib/${arch}/openblas-openmp"
for pair in "libblas.so.3-${arch}:libblas.so.3" "liblapack.so.3-${arch}:liblapack.so.3" \
            "libopenblas.so.0-${arch}:libopenblas.so.0"; do
  name="${pair%%:*}"; target="${openmp}/${pair#*:}"
  if [ ! -e "$target" ]; then
    echo "[setup] error: $target is missing (package libopenblas0-openmp); cannot select the OpenMP BLAS" >&2
    exit 1
  fi
  if ! update-alternatives --list "$name" 2>/dev/null | grep -qx "$target"; then
    echo "[setup] error: $target is not an alternative of $name (update-alternatives --list $name)" >&2
    exit 1
  fi
  # --set also moves the group to manual mode, so a later libopenblas0-pthread cannot take over.
  state="$(update-alternatives --query "$name" | awk '/^(Status|Value):/{printf "%s ", $2}')"
  [ "$state" = "manual $target " ] || $SUDO update-alternatives --set "$name" "$target" >/dev/null
done

# The serving tests drive `vlprompt serve` with the official OpenAI client (npm's `openai`, pinned
# by tests/serve/client/package-lock.json). Node comes with the machine; no Node, no tests.
command -v node >/dev/null && command -v npm >/dev/null ||
  { echo "[setup] error: node and npm are needed for the serving tests (tests/serve/client)" >&2; exit 1; }
if ! [ -f tests/serve/client/node_modules/openai/package.json ] ||
   ! cmp -s tests/serve/client/package-lock.json tests/serve/client/node_modules/.package-lock.json.copy; then
  npm ci --prefix tests/serve/client --no-audit --no-fund --loglevel=error
  cp tests/serve/client/package-lock.json tests/serve/client/node_modules/.package-lock.json.copy
fi

# ccache: PCH-compiled sources are cacheable only with this sloppiness; BASEDIR makes the cache
# hit across clone folders.
export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
export CCACHE_BASEDIR="$PWD"
# Depend mode hashes the -MD output instead of running the preprocessor over LibTorch per miss.
export CCACHE_DEPEND=true

if [ "${VLPROMPT_SKIP_BUILD:-0}" != "1" ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
  cmake --build build -j"$(nproc)"
fi
