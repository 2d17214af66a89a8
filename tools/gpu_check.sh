#!/usr/bin/env bash
# The GPU checks, for a machine with a CUDA PyTorch (its LibTorch), no C++ OpenCV and no
# libsentencepiece:
# build vlprompt and its tests against that LibTorch, then run the tests that need a GPU
# (CudaDevice.*: a CoOp run and a run with an image-side delta on cuda:0, compared with the CPU).
# Needs GoogleTest's CMake package beside that PyTorch. Nothing is installed.
#
#   tools/gpu_check.sh [BUILD_DIR]     # default build-gpu
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build-gpu}"
PY="${PYTHON:-python3}"
PREFIX="$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
"$PY" -c 'import torch; assert torch.cuda.is_available(), "no CUDA device visible to PyTorch"'
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" \
  -DVLPROMPT_WITH_OPENCV=OFF -DVLPROMPT_PIN_OPENBLAS_OPENMP=OFF \
  -DVLPROMPT_WITH_SENTENCEPIECE=OFF
cmake --build "$BUILD" -j"$(nproc)" --target vlprompt_tests
"$BUILD"/tests/vlprompt_tests --gtest_filter='CudaDevice.*' | tee "$BUILD/cuda_tests.log"
# A skip here is a failure: this script exists to run them.
if grep -q SKIPPED "$BUILD/cuda_tests.log"; then
  echo "gpu_check: the CUDA tests were skipped on a machine that should have a GPU" >&2
  exit 1
fi
