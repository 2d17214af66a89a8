#!/usr/bin/env bash
# The main job: install, build, and run zero-shot on Fashion-MNIST test with hand-written prompts
# (the dataset's manual template, the 7-template and the 80-template ensembles), side by side.
#
#   tools/demo.sh                         # a small CLIP with deterministic random weights
#   tools/demo.sh --model ViT-B-16.pt     # real weights (OpenAI .pt, HF folder, .safetensors)
#
# No pretrained CLIP weights exist on this machine: without --model the numbers below come from
# random weights and only show that the pipeline runs end to end.
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

if [ -z "$VOCAB" ] && [ -z "${VLPROMPT_HOME:-}" ] && [ -f ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz ]; then
  VOCAB=../shared/data/clip/bpe_simple_vocab_16e6.txt.gz
fi
VOCAB_ARGS=()
[ -n "$VOCAB" ] && VOCAB_ARGS=(--vocab "$VOCAB")

mkdir -p "$OUT"
if [ -z "$MODEL" ]; then
  MODEL="$OUT/tiny-init.safetensors"
  echo "== No --model given: using a small CLIP with random weights (config 'tiny', seed 0)."
  echo "== These are NOT pretrained weights; accuracies below are not CLIP's."
  "$VLP" init --config tiny --seed 0 --out "$MODEL"
fi

echo "== Zero-shot on Fashion-MNIST test (10,000 images) with hand-written prompts"
"$VLP" zeroshot --model "$MODEL" "${VOCAB_ARGS[@]}" --dataset fashion_mnist \
  --templates manual select7 imagenet80 --out "$OUT/zeroshot"
