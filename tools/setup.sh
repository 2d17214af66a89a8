#!/usr/bin/env bash
# Installs everything vlprompt needs from Debian, selects the OpenMP OpenBLAS as the system BLAS,
# then configures and builds Release with ccache. Idempotent; run as root (or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libsentencepiece-dev libgtest-dev
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev zlib1g-dev libicu-dev
  libopenblas0-openmp
  dataset-fashion-mnist
  python3-torch python3-numpy python3-pil
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
# libtorch's OpenMP threads; the OpenMP build is the one to use (see DESIGN.md).
arch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
for alt in "libblas.so.3-${arch}:blas/libblas.so.3" "liblapack.so.3-${arch}:lapack/liblapack.so.3" \
           "libopenblas.so.0-${arch}:libopenblas.so.0"; do
  name="${alt%%:*}"; file="${alt#*:}"
  target="/usr/lib/${arch}/openblas-openmp/${file}"
  if [ -e "$target" ] && update-alternatives --query "$name" >/dev/null 2>&1; then
    cur="$(update-alternatives --query "$name" | awk '/^Value:/{print $2}')"
    [ "$cur" = "$target" ] || $SUDO update-alternatives --set "$name" "$target"
  fi
done

if [ "${VLPROMPT_SKIP_BUILD:-0}" != "1" ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
  cmake --build build -j"$(nproc)"
fi
