#!/usr/bin/env bash
# Every speed claim with a peer measured beside it: `vlprompt bench` and PyTorch eager (Debian's
# python3-torch, same libtorch, same BLAS) on the same computations at the same shapes, one after
# the other on this machine. Prints and writes the ratios (vlprompt time / PyTorch time; < 1 is
# faster).
#
#   tools/bench_vs_pytorch.sh [--config ViT-B-16] [--batch 8] [--iters 3] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=ViT-B-16; BATCH=8; ITERS=3; OUT=runs/bench_vs_pytorch
COCOOP_BATCH=32  # CoCoOp: the issue's shapes (batch 32, 10 classes, n_ctx 4); one timed step
while [ $# -gt 0 ]; do
  case "$1" in
    --config) CONFIG="$2"; shift 2 ;;
    --batch) BATCH="$2"; shift 2 ;;
    --iters) ITERS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "usage: tools/bench_vs_pytorch.sh [--config C] [--batch N] [--iters N] [--out DIR]" >&2
       exit 2 ;;
  esac
done
VLP=build/tools/vlprompt
[ -x "$VLP" ] || { echo "error: $VLP not built; run tools/setup.sh first" >&2; exit 1; }
mkdir -p "$OUT"

echo "== vlprompt bench ($CONFIG, batch $BATCH)" >&2
"$VLP" bench image-tower --config "$CONFIG" --batch "$BATCH" --iters "$ITERS" \
  --out "$OUT/vlprompt_image.json" >/dev/null
"$VLP" bench text-tower --config "$CONFIG" --iters "$ITERS" --out "$OUT/vlprompt_text.json" >/dev/null
"$VLP" bench vpt-step --config "$CONFIG" --batch "$BATCH" --iters "$ITERS" \
  --out "$OUT/vlprompt_vpt.json" >/dev/null
"$VLP" bench cocoop-step --config "$CONFIG" --batch "$COCOOP_BATCH" --classes 10 --iters 1 \
  --out "$OUT/vlprompt_cocoop.json" >/dev/null
EOTS="$(/usr/bin/python3 -c 'import json,sys; print(",".join(map(str, json.load(open(sys.argv[1]))["text_tower"]["forward_backward_coop_10_classes"]["eot_positions"])))' "$OUT/vlprompt_text.json")"

THREADS="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["threads"])' "$OUT/vlprompt_image.json")"

echo "== PyTorch eager peer (same shapes, $THREADS threads like vlprompt)" >&2
/usr/bin/python3 tools/bench_vs_pytorch.py --config "$CONFIG" --batch "$BATCH" --iters "$ITERS" \
  --threads "$THREADS" --eot-positions "$EOTS" --vpt-batch "$BATCH" \
  --cocoop-batch "$COCOOP_BATCH" --cocoop-classes 10 --out "$OUT/pytorch.json" \
  >/dev/null

/usr/bin/python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
img = json.load(open(os.path.join(out, "vlprompt_image.json")))
txt = json.load(open(os.path.join(out, "vlprompt_text.json")))
pt = json.load(open(os.path.join(out, "pytorch.json")))
vpt = json.load(open(os.path.join(out, "vlprompt_vpt.json")))["vpt_step"]
v_img = img["image_tower"]["seconds_per_batch"]
v_fb = txt["text_tower"]["forward_backward_coop_10_classes"]
p_fb = pt["text_forward_backward"]
rows = [
    ("image tower forward, batch %d" % img["image_tower"]["batch"], v_img,
     pt["image_tower"]["seconds_per_batch"]),
    ("text fwd+bwd, 10 prompts x %d tokens (truncated)" % v_fb["tokens_truncated"],
     v_fb["seconds_truncated"], p_fb["seconds_truncated"]),
    ("text fwd+bwd, 10 prompts x 77 tokens", v_fb["seconds_full_77"], p_fb["seconds_full_77"]),
    ("text fwd+bwd: vlprompt truncated vs PyTorch 77 (what each does by default)",
     v_fb["seconds_truncated"], p_fb["seconds_full_77"]),
    ("deep VPT (8 tokens, all layers) image forward, batch %d" % vpt["batch"],
     vpt["forward_no_grad"]["seconds_per_step"], pt["vpt_step"]["forward_no_grad"]),
    ("deep VPT image forward+backward to the prompts, batch %d" % vpt["batch"],
     vpt["forward_backward_to_prompts"]["seconds_per_step"],
     pt["vpt_step"]["forward_backward_to_prompts"]),
]
coc = json.load(open(os.path.join(out, "vlprompt_cocoop.json")))["cocoop_step"][0]
rows.append(("CoCoOp step, batch %d x %d classes: vlprompt batched vs PyTorch official loop"
             % (coc["batch"], coc["classes"]),
             coc["batched_truncated"]["seconds_per_step"],
             pt["cocoop_loop"][0]["seconds_per_step"]))
result = {"config": img["config"], "vlprompt_blas": img["blas"], "pytorch_blas": pt["blas_libraries"],
          "threads": {"vlprompt": img["threads"], "pytorch": pt["threads"]},
          "image_tower_ratio_to_blas": img["image_tower"]["ratio_to_blas"],
          "rows": [{"what": w, "vlprompt_s": v, "pytorch_s": p, "ratio": v / p} for w, v, p in rows]}
print("BLAS: vlprompt %s (%s); PyTorch %s" % (img["blas"]["kind"], img["blas"]["library"],
                                              ", ".join(pt["blas_libraries"])))
print("%-76s %10s %10s %7s" % ("computation", "vlprompt s", "PyTorch s", "ratio"))
for r in result["rows"]:
    print("%-76s %10.3f %10.3f %7.2f" % (r["what"], r["vlprompt_s"], r["pytorch_s"], r["ratio"]))
print("image tower: %.2f of the BLAS time on its own GEMMs" % result["image_tower_ratio_to_blas"])
tmp = os.path.join(out, "ratios.json.tmp")
with open(tmp, "w") as f:
    json.dump(result, f, indent=2)
os.replace(tmp, os.path.join(out, "ratios.json"))
PY
