#!/usr/bin/env bash
# The Delta Tuning survey's combinations on one split: CoOp, VPT, CoOp+VPT trained together
# (simultaneous) and VPT trained on a frozen CoOp (sequential), Fashion-MNIST 16 shots, the same
# seeds and the same short schedule for all (center-view images, 20 epochs, batch 16, lr 0.02),
# then the mean test top-1 per combination (`vlprompt summarize`).
#
#   tools/composition_table.sh [--model M] [--out DIR] [SEED...]     # default seeds 1 2
set -euo pipefail
cd "$(dirname "$0")/.."
VLP=build/tools/vlprompt
OUT=runs/composition
MODEL=""
SEEDS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) SEEDS+=("$1"); shift ;;
  esac
done
[ ${#SEEDS[@]} -eq 0 ] && SEEDS=(1 2)
mkdir -p "$OUT"
if [ -z "$MODEL" ]; then
  MODEL="$OUT/tiny-init.safetensors"
  [ -f "$MODEL" ] || "$VLP" init --config tiny --seed 0 --out "$MODEL"
fi
COMMON=(--model "$MODEL" --dataset fashion_mnist --shots 16 --no-augment
        train.max_epoch=20 train.batch_size=16 optim.lr=0.02)
run() {  # run NAME ARGS...: train unless finished, resume if killed
  local dir="$OUT/$1"; shift
  if [ -f "$dir/results.json" ]; then return; fi
  if [ -f "$dir/checkpoint/checkpoint.json" ]; then "$VLP" train --resume "$dir"; return; fi
  "$VLP" train "$@" --out "$dir"
}
for s in "${SEEDS[@]}"; do
  run "coop-$s" --method coop --seed "$s" "${COMMON[@]}"
  run "vpt-$s" --method vpt --seed "$s" "${COMMON[@]}"
  run "coop+vpt-$s" --method coop+vpt --seed "$s" "${COMMON[@]}"
  run "coop-then-vpt-$s" --method vpt --seed "$s" --init-delta "$OUT/coop-$s/delta.safetensors" \
    --freeze-init "${COMMON[@]}"
done
"$VLP" summarize "$OUT"/coop-[0-9]* "$OUT"/vpt-* "$OUT"/coop+vpt-* "$OUT"/coop-then-vpt-* \
  --out "$OUT/summary"
