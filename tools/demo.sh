#!/usr/bin/env bash
# The main job, on Fashion-MNIST: zero-shot with hand-written prompts (the dataset's manual
# template, the 7-template and the 80-template ensembles), CoOp learned on 16 shots per class
# (seed 1, the paper's defaults), evaluation of the learned delta, and the side-by-side table.
#
#   tools/demo.sh                         # the shipped demonstration model, tiny-pretrained
#   tools/demo.sh --model ViT-B-16.pt     # real weights (OpenAI .pt, HF folder, .safetensors)
#
# No pretrained CLIP weights can be had on this machine: without --model the demo runs on
# models/pretrained/tiny-pretrained.safetensors, a tiny CLIP pretrained contrastively on
# Fashion-MNIST *train* and handwritten digits by tools/pretrain_tiny_clip.sh. It is a
# demonstration model, not CLIP: its numbers show learned prompts against hand-written ones, not
# what CLIP scores.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=""
VOCAB=""
OUT="runs/demo"
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL="$2"; shift 2 ;;
    --vocab) VOCAB="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "usage: tools/demo.sh [--model PATH] [--vocab FILE] [--out DIR]" >&2; exit 2 ;;
  esac
done

tools/setup.sh
VLP=build/tools/vlprompt

# Without --vocab: the model's folder, then $VLPROMPT_HOME, then the copy in models/vocab/.
VOCAB_ARGS=()
[ -n "$VOCAB" ] && VOCAB_ARGS=(--vocab "$VOCAB")

mkdir -p "$OUT"
if [ -z "$MODEL" ]; then
  MODEL="tiny-pretrained"
  echo "== No --model given: using the shipped demonstration model 'tiny-pretrained' (a tiny CLIP"
  echo "== pretrained on Fashion-MNIST train and digits by tools/pretrain_tiny_clip.sh; not CLIP)."
fi

echo "== Zero-shot on Fashion-MNIST test (10,000 images) with hand-written prompts"
"$VLP" zeroshot --model "$MODEL" "${VOCAB_ARGS[@]}" --dataset fashion_mnist \
  --templates manual select7 imagenet80 --out "$OUT/zeroshot"

echo "== CoOp, 16 shots per class, seed 1 (CoOp paper defaults; 10 augmented views encoded once)"
RUN="$OUT/coop-16shot-seed1"
if [ -f "$RUN/checkpoint/checkpoint.json" ] && [ ! -f "$RUN/results.json" ]; then
  "$VLP" train --resume "$RUN"
elif [ ! -f "$RUN/results.json" ]; then
  "$VLP" train --method coop --model "$MODEL" "${VOCAB_ARGS[@]}" --dataset fashion_mnist \
    --shots 16 --seed 1 --aug-views 10 --out "$RUN"
fi

echo "== The learned delta, evaluated on its own (test split, image features from the cache)"
"$VLP" eval --delta "$RUN/delta.safetensors" --model "$MODEL" "${VOCAB_ARGS[@]}" \
  --dataset fashion_mnist --out "$OUT/coop-eval"

echo "== Side by side (test top-1 %)"
"$VLP" summarize "$RUN" --out "$OUT/summary"
echo "Report: $RUN/report.html"
