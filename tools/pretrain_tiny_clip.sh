#!/usr/bin/env bash
# Makes models/pretrained/tiny-pretrained.safetensors, the demonstration CLIP that ships with the
# project (`--model tiny-pretrained`): contrastive pretraining of the `tiny` architecture on
# Fashion-MNIST train and digits-opencv train, seeded, CPU only (about 20 minutes on 2 cores).
# See tools/pretrain/pretrain_tiny_clip.py for the data, captions and loss.
#
#   tools/pretrain_tiny_clip.sh [--out FILE] [--digits PNG] [-- extra pretrain_tiny_clip.py args]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="models/pretrained/tiny-pretrained.safetensors"
DIGITS="../shared/data/digits/opencv_digits_20x20.png"
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --digits) DIGITS="$2"; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "usage: tools/pretrain_tiny_clip.sh [--out FILE] [--digits PNG] [-- ARGS]" >&2; exit 2 ;;
  esac
done
if [ ! -f "$DIGITS" ]; then
  echo "pretrain: $DIGITS is missing: OpenCV's samples/data/digits.png (Debian's opencv-doc)" >&2
  exit 1
fi
VLP=build/tools/vlprompt
[ -x "$VLP" ] || { echo "pretrain: $VLP is missing; run tools/setup.sh first" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Every caption the sampler can draw, tokenized once by vlprompt's CLIP tokenizer.
/usr/bin/python3 - "$WORK/captions.jsonl" <<'PY'
import json, sys
sys.path.insert(0, "tools/pretrain")
import captions as c
texts = sorted(c.all_captions(c.FASHION_NAMES, c.FASHION_PATTERNS, c.FASHION_TAILS)
               | c.all_captions(c.DIGIT_NAMES, c.DIGIT_PATTERNS, c.DIGIT_TAILS) | set(c.NO_CLASS))
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.writelines(json.dumps(t) + "\n" for t in texts)
PY
"$VLP" tokenize --jsonl "$WORK/captions.jsonl" > "$WORK/tokens.jsonl"

/usr/bin/python3 tools/pretrain/pretrain_tiny_clip.py --tokens "$WORK/tokens.jsonl" \
  --digits "$DIGITS" --out "$WORK/raw.safetensors" "${EXTRA[@]}"
mkdir -p "$(dirname "$OUT")"
"$VLP" convert "$WORK/raw.safetensors" "$OUT"
