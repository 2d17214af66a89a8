#!/usr/bin/env bash
# Makes models/pretrained/tiny-pretrained-lm/, the demonstration language model that ships with
# the project (`--model tiny-pretrained-lm`): causal-LM pretraining of a 4-layer LLaMA on Debian's
# fortunes without the fortunes catalog's test quarter, seeded, CPU only, one thread (about 15
# minutes). See tools/pretrain/pretrain_tiny_lm.py for the data, captions and schedule.
#
#   tools/pretrain_tiny_lm.sh [--out FOLDER] [-- extra pretrain_tiny_lm.py args]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="models/pretrained/tiny-pretrained-lm"
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "usage: tools/pretrain_tiny_lm.sh [--out FOLDER] [-- ARGS]" >&2; exit 2 ;;
  esac
done
command -v spm_train >/dev/null || { echo "pretrain: spm_train is missing (Debian's sentencepiece)" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# One thread: the same weights on every machine (BLAS reductions split differently otherwise).
OMP_NUM_THREADS=1 /usr/bin/python3 tools/pretrain/pretrain_tiny_lm.py --out "$WORK/model" "${EXTRA[@]}"
# Replace the folder whole, so a killed run never leaves half a model behind.
mkdir -p "$(dirname "$OUT")"
rm -rf "$OUT.old"
[ -e "$OUT" ] && mv "$OUT" "$OUT.old"
mv "$WORK/model" "$OUT"
rm -rf "$OUT.old"
echo "pretrain: wrote $OUT"
