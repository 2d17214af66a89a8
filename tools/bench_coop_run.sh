#!/usr/bin/env bash
# Wall time of a whole CoOp run (16 shots, 200 epochs, seed 1, paper defaults) on Fashion-MNIST
# at ViT-B/16 shapes with random weights: `--aug-views 10` run to the end, against on-the-fly
# augmentation (image tower in the loop) timed over a few epochs and extrapolated to 200.
#
#   tools/bench_coop_run.sh [OUT_DIR]          # default runs/bench-coop-run
#   TEST_N=100 FLY_EPOCHS=2 CONFIG=ViT-B-16 tools/bench_coop_run.sh
#
# The test split is cut to its first TEST_N images so the figure is the cost of training: at
# ViT-B/16 on a 2-core CPU the full 10,000-image test set alone takes 30-90 min through the image
# tower, the same for both variants. The JSON printed at the end has each phase's seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
VLP=build/tools/vlprompt
OUT="${1:-runs/bench-coop-run}"
TEST_N="${TEST_N:-100}"
FLY_EPOCHS="${FLY_EPOCHS:-2}"
CONFIG="${CONFIG:-ViT-B-16}"
SRC=/usr/share/datasets/fashion-mnist

mkdir -p "$OUT/data"
export VLPROMPT_CACHE_DIR="$OUT/cache"   # a cold cache: every image goes through the tower
rm -rf "$VLPROMPT_CACHE_DIR" "$OUT/views" "$OUT/fly"
MODEL="$OUT/$CONFIG-random.safetensors"
[ -f "$MODEL" ] || "$VLP" init --config "$CONFIG" --seed 0 --out "$MODEL"

# Fashion-MNIST with the training files as they are and the test files cut to TEST_N images.
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz; do ln -sfn "$SRC/$f" "$OUT/data/$f"; done
python3 - "$SRC" "$OUT/data" "$TEST_N" <<'PY'
import gzip, struct, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for kind, item in (("images-idx3", 28 * 28), ("labels-idx1", 1)):
    raw = gzip.open(f"{src}/t10k-{kind}-ubyte.gz").read()
    head = 16 if kind.startswith("images") else 8
    header = bytearray(raw[:head]); struct.pack_into(">I", header, 4, n)
    with gzip.open(f"{dst}/t10k-{kind}-ubyte.gz", "wb") as f:
        f.write(bytes(header) + raw[head:head + n * item])
PY

COMMON=(--method coop --model "$MODEL" --dataset fashion_mnist
        --data-root "$OUT/data" --shots 16 --seed 1)
now() { date +%s.%N; }

t0=$(now)
"$VLP" train "${COMMON[@]}" --aug-views 10 --out "$OUT/views"
t1=$(now)
"$VLP" train "${COMMON[@]}" --out "$OUT/fly" train.max_epoch="$FLY_EPOCHS"
t2=$(now)

python3 - "$OUT" "$t0" "$t1" "$t2" "$FLY_EPOCHS" "$TEST_N" "$CONFIG" <<'PY'
import json, sys
out, t0, t1, t2, fly_epochs, test_n, config = sys.argv[1:]
t0, t1, t2, fly_epochs = float(t0), float(t1), float(t2), int(fly_epochs)
def epochs(run):
    return [json.loads(l) for l in open(f"{out}/{run}/metrics.jsonl") if '"epoch"' in l]
views, fly = epochs("views"), epochs("fly")
views_train = sum(e["seconds"] for e in views)
fly_epoch = sum(e["seconds"] for e in fly) / len(fly)
views_total = t1 - t0
views_other = views_total - views_train  # model load, view + val + test encoding, evaluation
fly_other = (t2 - t1) - sum(e["seconds"] for e in fly)
fly_estimate = fly_other + 200 * fly_epoch
res = json.load(open(f"{out}/views/results.json"))
print(json.dumps({
    "config": config, "shots": 16, "epochs": len(views), "test_images": int(test_n),
    "aug_views_10": {"wall_s": round(views_total, 1), "training_epochs_s": round(views_train, 1),
                     "encoding_and_eval_s": round(views_other, 1),
                     "test_top1": res.get("test", {}).get("top1")},
    "on_the_fly": {"timed_epochs": fly_epochs, "seconds_per_epoch": round(fly_epoch, 1),
                   "estimated_wall_s": round(fly_estimate, 1)},
    "speedup": round(fly_estimate / views_total, 2)}, indent=2))
PY
