#!/usr/bin/env bash
# The text-LM path end to end on Debian's fortunes (five topics, few-shot): the zero-prompt model
# against Prompt Tuning, Prefix Tuning and P-Tuning learned on 16 texts per class, an evaluation of
# a delta file, scoring and generation with and without a delta, and a PEFT export.
#
#   tools/demo_text.sh                      # a tiny LLaMA pretrained here (see below)
#   tools/demo_text.sh --model LLAMA_DIR    # a Hugging Face LLaMA-family folder
#
# No pretrained LLaMA weights exist on this machine: without --model the demo pretrains a tiny
# LLaMA-shaped model (2 layers, width 64, 1000-piece sentencepiece vocabulary) for a few hundred
# steps on fortunes categories that are not among the classes (tests/fixtures/make_lm_fixtures.py,
# ~20 s). Its numbers show the pipeline working, not what a real LLaMA reaches.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=""
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
if [ -z "$MODEL" ]; then
  echo "== No --model given: pretraining a tiny LLaMA on fortunes (NOT a real LLaMA)."
  /usr/bin/python3 tests/fixtures/make_lm_fixtures.py --out "$OUT/model"
  MODEL="$OUT/model/lm/tiny"
fi

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
