#!/usr/bin/env bash
# The text-LM path end to end on Debian's fortunes (five topics, few-shot): the zero-prompt model
# against Prompt Tuning, Prefix Tuning and P-Tuning learned on 16 texts per class, an evaluation of
# a delta file, scoring and generation with and without a delta, and a PEFT export.
#
#   tools/demo_text.sh                      # the shipped tiny-pretrained-lm
#   tools/demo_text.sh --model LLAMA_DIR    # a Hugging Face LLaMA-family folder
#
# No pretrained LLaMA weights exist on this machine: without --model the demo uses the
# demonstration model that ships in models/pretrained/tiny-pretrained-lm (4 layers, width 128,
# 2000-piece vocabulary, pretrained on fortunes without the catalog's test split by
# tools/pretrain_tiny_lm.sh). Its numbers show the pipeline working, not what a real LLaMA reaches.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL="tiny-pretrained-lm"
OUT="runs/demo_text"
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "usage: tools/demo_text.sh [--model LLAMA_DIR] [--out DIR]" >&2; exit 2 ;;
  esac
done

tools/setup.sh
VLP=build/tools/vlprompt
mkdir -p "$OUT"
[ "$MODEL" = "tiny-pretrained-lm" ] && echo "== The shipped demonstration model (NOT a real LLaMA)"

for method in prompt-tuning prefix-tuning p-tuning; do
  echo "== $method, 16 shots per class, seed 1"
  rm -rf "$OUT/$method"
  "$VLP" train --method "$method" --model "$MODEL" --dataset fortunes --shots 16 --seed 1 \
    --out "$OUT/$method" text.max_tokens=64 train.progress=lines
done

echo "== The prompt-tuning delta evaluated from its file"
"$VLP" eval --delta "$OUT/prompt-tuning/delta.safetensors" --model "$MODEL" --dataset fortunes \
  --out "$OUT/prompt-tuning-eval"

echo "== Its virtual tokens read as the nearest vocabulary pieces"
"$VLP" inspect "$OUT/prompt-tuning/delta.safetensors" --model "$MODEL"

echo "== Scoring a text without and with the delta (JSON lines)"
"$VLP" lm score --model "$MODEL" --texts "Never trust a computer you can't lift. Topic:"
"$VLP" lm score --model "$MODEL" --delta "$OUT/prompt-tuning/delta.safetensors" \
  --texts "Never trust a computer you can't lift. Topic:"

echo "== Greedy generation, streamed"
"$VLP" lm generate --model "$MODEL" --prompt "A fool and his money" --max-new-tokens 24

echo "== PEFT export (adapter_config.json + adapter_model.safetensors)"
"$VLP" export --to peft "$OUT/prompt-tuning/delta.safetensors" --out "$OUT/peft-prompt-tuning"
ls -l "$OUT/peft-prompt-tuning"

echo "== Test accuracy on fortunes (5 topics)"
"$VLP" summarize "$OUT/prompt-tuning" "$OUT/prefix-tuning" "$OUT/p-tuning" --out "$OUT/summary"
