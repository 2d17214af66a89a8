#!/usr/bin/env bash
# `vlprompt bench lm-step` beside its PyTorch eager peer (Debian's python3-torch, same libtorch and
# BLAS, same threads) on the issue's ~100M LLaMA shape; prints vlprompt time / PyTorch time per
# measurement (< 1 is faster) and writes both JSON files.
#
#   tools/bench_lm_vs_pytorch.sh [--batch 8] [--seq 128] [--iters 3] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BATCH=8; SEQ=128; ITERS=3; OUT=runs/bench_lm_vs_pytorch
while [ $# -gt 0 ]; do
  case "$1" in
    --batch) BATCH="$2"; shift 2 ;;
    --seq) SEQ="$2"; shift 2 ;;
    --iters) ITERS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "usage: tools/bench_lm_vs_pytorch.sh [--batch N] [--seq N] [--iters N] [--out DIR]" >&2
       exit 2 ;;
  esac
done
VLP=build/tools/vlprompt
[ -x "$VLP" ] || { echo "error: $VLP not built; run tools/setup.sh first" >&2; exit 1; }
mkdir -p "$OUT"
"$VLP" bench lm-step --batch "$BATCH" --seq "$SEQ" --iters "$ITERS" --out "$OUT/vlprompt.json" \
  >/dev/null
THREADS="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["threads"])' \
  "$OUT/vlprompt.json")"
/usr/bin/python3 tools/bench_lm_vs_pytorch.py --threads "$THREADS" --batch "$BATCH" --seq "$SEQ" \
  --iters "$ITERS" > "$OUT/pytorch.json"
/usr/bin/python3 - "$OUT/vlprompt.json" "$OUT/pytorch.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1])); p = json.load(open(sys.argv[2]))
s = v["lm_step"]
print("blas: %s (%s), threads %d" % (v["blas"]["library"], v["blas"]["kind"], v["threads"]))
print("%-16s %12s %12s %8s %14s %14s" % ("step", "vlprompt s", "pytorch s", "ratio",
                                         "vlp peak MiB", "torch peak MiB"))
for k in ("forward_only", "prompt_tuning", "prefix_tuning", "lora", "ia3", "adapter", "bitfit",
          "full_finetune"):
    a, b = s[k]["seconds_per_step"], p[k]["seconds_per_step"]
    print("%-16s %12.3f %12.3f %8.2f %14.0f %14.0f" % (k, a, b, a / b, s[k]["peak_rss_mib"],
                                                      p[k]["peak_rss_mib"]))
r, q = s["rank_classification"], p["rank_classification"]
for k in ("shared_prompt", "per_row"):
    a, b = r[k]["seconds_per_step"], q["seconds_per_step"]
    print("rank classification, %-13s vlprompt %.3f s (%d prompt rows)  pytorch B x C rows %.3f s"
          "  ratio %.2f" % (k, a, r[k]["prompt_token_rows"], b, a / b))
g, h = s["generation"], p["generation"]
for k in ("tokens_per_s_cache", "tokens_per_s_no_cache"):
    print("%-22s vlprompt %8.1f  pytorch %8.1f  ratio %.2f" % (k, g[k], h[k], g[k] / h[k]))
PY
