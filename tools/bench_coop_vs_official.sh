#!/usr/bin/env bash
# CoOp's training step on cached image features, vlprompt against the official trainer's step
# (tools/bench_coop_official.py: trainers/coop.py's algorithm in PyTorch eager, 77 tokens), same
# shapes (ViT-B/16 text tower, n_ctx 16, batch 32, the same class-prompt lengths), same BLAS and
# thread count, alternated ROUNDS times so drift hits both sides alike. Also prints vlprompt's text
# side three ways (shared prefix, truncated, 77 tokens). Writes OUT/summary.json.
#
#   tools/bench_coop_vs_official.sh [--classes 10] [--rounds 3] [--iters 5] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
CLASSES=10; ROUNDS=3; ITERS=5; OUT=runs/bench_coop_vs_official
while [ $# -gt 0 ]; do
  case "$1" in
    --classes) CLASSES="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --iters) ITERS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "usage: tools/bench_coop_vs_official.sh [--classes N] [--rounds R] [--iters N] [--out DIR]" >&2
       exit 2 ;;
  esac
done
VLP=build/tools/vlprompt
[ -x "$VLP" ] || { echo "error: $VLP not built; run tools/setup.sh first" >&2; exit 1; }
mkdir -p "$OUT"
for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r: vlprompt bench coop-step --classes $CLASSES" >&2
  "$VLP" bench coop-step --batch 32 --classes "$CLASSES" --iters "$ITERS" \
    --out "$OUT/vlprompt_$r.json" >/dev/null
  read -r EOTS THREADS < <(/usr/bin/python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))
print(",".join(map(str, j["coop_step"][0]["text_side"]["eot_positions"])), j["threads"])' \
    "$OUT/vlprompt_$r.json")
  echo "== round $r: the official step in PyTorch eager ($THREADS threads)" >&2
  /usr/bin/python3 tools/bench_coop_official.py --eot-positions "$EOTS" --threads "$THREADS" \
    --batch 32 --iters "$ITERS" --out "$OUT/official_$r.json" >/dev/null
done
/usr/bin/python3 - "$OUT" "$ROUNDS" <<'PY'
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
v = [json.load(open(os.path.join(out, f"vlprompt_{r}.json"))) for r in range(1, rounds + 1)]
p = [json.load(open(os.path.join(out, f"official_{r}.json"))) for r in range(1, rounds + 1)]
step = [x["coop_step"][0]["cached_features"]["seconds_per_step"] for x in v]
official = [x["seconds_per_step"] for x in p]
text = [x["coop_step"][0]["text_side"] for x in v]
med = statistics.median
summary = {
    "classes": v[0]["coop_step"][0]["classes"], "batch": 32, "n_ctx": 16,
    "blas": v[0]["blas"], "peer_blas_libraries": p[0]["blas_libraries"], "threads": v[0]["threads"],
    "rounds": rounds,
    "vlprompt_step_s": step, "official_step_s": official,
    "speedup_median": med(official) / med(step),
    "speedup_per_round": [o / s for o, s in zip(official, step)],
    "text_side_median_s": {k: med([t[k] for t in text if t.get(k) is not None] or [float("nan")])
                           for k in ("seconds_shared_prefix", "seconds_truncated", "seconds_full_77")},
}
print(json.dumps(summary, indent=2))
with open(os.path.join(out, "summary.json.tmp"), "w") as f:
    f.write(json.dumps(summary, indent=2) + "\n")
os.replace(os.path.join(out, "summary.json.tmp"), os.path.join(out, "summary.json"))
PY
