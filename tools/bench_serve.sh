#!/usr/bin/env bash
# Load on `vlprompt serve` with wrk: greedy completions (16 tokens) spread round-robin over K
# prompt-tuning deltas, K = 1, 8, 64, with rows of different deltas sharing a decoding step
# (--batching mixed) against one delta per step (--batching single). Writes requests/s and
# p50/p99 latency as OUT/bench_serve.json and OUT/bench_serve.md.
#
#   tools/bench_serve.sh [--vlprompt BIN] [--scratch DIR] [--out DIR] [--duration 20s]
#                        [--connections 64] [--wrk-threads 2] [--ks "1 8 64"]
#                        [--modes "mixed single"] [--threads N] [--max-batch N]
#   tools/bench_serve.sh --soak [--requests 10000] [...]
#
# --soak: at least --requests completions (8 deltas and base) while a background loop replaces,
# adds and removes delta files in the served folder every second; fails unless every response was
# a 2xx holding choices. Reports the server's VmRSS before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VLP=build/tools/vlprompt
SCRATCH=runs/bench_serve
OUT=""
DURATION=20s
CONNECTIONS=64
WRK_THREADS=2
KS="1 8 64"
MODES="mixed single"
THREADS=0
MAX_BATCH=32
SOAK=0
REQUESTS=10000
LM_MODEL=tiny-pretrained-lm
usage() {
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --vlprompt) VLP="$2"; shift 2 ;;
    --scratch) SCRATCH="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --wrk-threads) WRK_THREADS="$2"; shift 2 ;;
    --ks) KS="$2"; shift 2 ;;
    --modes) MODES="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --max-batch) MAX_BATCH="$2"; shift 2 ;;
    --lm-model) LM_MODEL="$2"; shift 2 ;;
    --soak) SOAK=1; shift ;;
    --requests) REQUESTS="$2"; shift 2 ;;
    *) usage ;;
  esac
done
command -v wrk >/dev/null || { echo "bench_serve: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -x "$VLP" ] || { echo "bench_serve: $VLP is not executable (build first, or --vlprompt)" >&2; exit 1; }
VLP=$(realpath "$VLP")
mkdir -p "$SCRATCH"
SCRATCH=$(realpath "$SCRATCH")
OUT=$(mkdir -p "${OUT:-$SCRATCH}" && realpath "${OUT:-$SCRATCH}")
LUA="$ROOT/tools/bench_serve.lua"
LOGS="$SCRATCH/logs"
mkdir -p "$LOGS"

# One prompt-tuning delta, trained once (2 shots, 1 epoch: the speed of serving does not depend
# on how well it was trained).
RUN="$SCRATCH/runs/prompt_tuning"
if [ ! -f "$RUN/delta.safetensors" ]; then
  echo "== Training one prompt_tuning delta into $RUN"
  rm -rf "$RUN"
  "$VLP" train --method prompt_tuning --model "$LM_MODEL" --dataset fortunes --shots 2 --seed 1 \
    --out "$RUN" text.max_tokens=64 train.max_epoch=1 train.progress=off >"$LOGS/train.log" 2>&1 ||
    { tail -n 30 "$LOGS/train.log"; exit 1; }
fi

# 64 deltas d00..d63: copies of the one file under distinct names. The server loads each name
# from its own file into its own tensors and treats them as 64 distinct deltas (a mixed step
# gathers 64 sets of virtual tokens), so the work per step is that of 64 different deltas; only
# the generated texts coincide, which throughput does not depend on.
DELTAS="$SCRATCH/deltas"
rm -rf "$DELTAS"
mkdir -p "$DELTAS"
for i in $(seq 0 63); do cp "$RUN/delta.safetensors" "$DELTAS/$(printf 'd%02d' "$i").safetensors"; done

SERVER_PID=""
CHURN_PID=""
WRK_PID=""
cleanup() {
  local pid
  for pid in "$WRK_PID" "$CHURN_PID" "$SERVER_PID"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  done
  return 0
}
trap cleanup EXIT

# Whether PID runs (an exited child is a zombie until waited for, and kill -0 still finds it).
running() {
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $st != Z* ]]
}

# Starts the server (extra arguments appended) and sets SERVER_PID and URL.
start_server() {
  local log=$1 line=""
  shift
  "$VLP" serve --lm-model "$LM_MODEL" --delta-dir "$DELTAS" --host 127.0.0.1 --port 0 \
    --threads "$THREADS" --max-batch "$MAX_BATCH" "$@" >"$log.out" 2>"$log.err" &
  SERVER_PID=$!
  for _ in $(seq 1200); do
    line=$(grep -m1 -o 'listening on http://127\.0\.0\.1:[0-9]*' "$log.out" || true)
    [ -n "$line" ] && break
    if ! running "$SERVER_PID"; then
      echo "bench_serve: the server exited before listening:" >&2
      cat "$log.out" "$log.err" >&2
      exit 1
    fi
    sleep 0.1
  done
  [ -n "$line" ] || { echo "bench_serve: the server did not come up in 120 s" >&2; cat "$log.err" >&2; exit 1; }
  URL="http://${line#listening on http://}"
}

stop_server() {
  kill -TERM "$SERVER_PID"
  local rc=0
  wait "$SERVER_PID" || rc=$?
  SERVER_PID=""
  [ "$rc" = 0 ] || echo "bench_serve: the server exited $rc on SIGTERM" >&2
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# wrk_run LOG K [BUDGET MARKER] [BASE]: one wrk run; prints its BENCH json line.
wrk_run() {
  local log=$1 k=$2 budget=${3:-0} marker=${4:--} base=${5:-0} duration=$DURATION
  [ "$budget" -gt 0 ] && duration=3600s
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$duration" --timeout 60s --latency -s "$LUA" "$URL" \
    -- "$k" d "$budget" "$marker" 16 "$base" >"$log" 2>&1 &
  WRK_PID=$!
  if [ "$budget" -gt 0 ]; then
    # Every thread has spent its budget (or wrk gave up): end the run, done() still reports.
    local t
    while kill -0 "$WRK_PID" 2>/dev/null; do
      local all=1
      for t in $(seq 0 $((WRK_THREADS - 1))); do [ -e "$marker$t" ] || all=0; done
      if [ "$all" = 1 ]; then kill -INT "$WRK_PID" 2>/dev/null || true; break; fi
      sleep 0.2
    done
  fi
  wait "$WRK_PID" || { echo "bench_serve: wrk failed:" >&2; cat "$log" >&2; WRK_PID=""; return 1; }
  WRK_PID=""
  grep -m1 '^BENCH ' "$log" | sed 's/^BENCH //' ||
    { echo "bench_serve: no BENCH line from wrk:" >&2; cat "$log" >&2; return 1; }
}

if [ "$SOAK" = 0 ]; then
  RESULTS="$SCRATCH/results.jsonl"
  : >"$RESULTS"
  for mode in $MODES; do
    start_server "$LOGS/server-$mode" --batching "$mode"
    echo "== --batching $mode at $URL"
    # A short warm-up so that first-touch costs stay out of the numbers.
    DURATION=2s wrk_run "$LOGS/warmup-$mode.log" 8 >/dev/null
    for k in $KS; do
      line=$(wrk_run "$LOGS/wrk-$mode-k$k.log" "$k")
      echo "{\"batching\":\"$mode\",\"k\":$k,\"connections\":$CONNECTIONS,\"duration\":\"$DURATION\",\"result\":$line}" >>"$RESULTS"
      echo "   K=$k: $(echo "$line" | jq -r '"\(.rps) req/s, p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, non-2xx \(.non2xx)"')"
    done
    stop_server
  done
  /usr/bin/env python3 - "$RESULTS" "$OUT" "$(nproc)" "$MAX_BATCH" "$THREADS" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out, cores, max_batch, threads = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
json.dump({"cores": int(cores), "max_batch": int(max_batch), "threads": int(threads), "runs": rows},
          open(f"{out}/bench_serve.json", "w"), indent=1)
lines = [f"`vlprompt serve`, greedy 16-token completions round-robin over K deltas "
         f"({rows[0]['connections'] if rows else '?'} connections, {rows[0]['duration'] if rows else '?'} per row, "
         f"{cores} cores, --max-batch {max_batch}, --threads {threads}).", "",
         "| batching | K | requests/s | p50 ms | p99 ms | non-2xx | errors |",
         "|---|---:|---:|---:|---:|---:|---:|"]
for r in rows:
    x = r["result"]
    errors = sum(x["errors"][k] for k in ("connect", "read", "write", "timeout"))
    lines.append(f"| {r['batching']} | {r['k']} | {x['rps']:.1f} | {x['p50_ms']:.1f} | {x['p99_ms']:.1f} | "
                 f"{x['non2xx'] + x['bad_body']} | {errors} |")
open(f"{out}/bench_serve.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
  echo "Wrote $OUT/bench_serve.json and $OUT/bench_serve.md"
  exit 0
fi

# --- Soak -----------------------------------------------------------------------------------
start_server "$LOGS/server-soak" --watch-interval-ms 200
echo "== Soak at $URL: $REQUESTS completions over d00..d07 and base, deltas changing every second"
RSS_START=$(rss_kib "$SERVER_PID")
DURATION=3s wrk_run "$LOGS/soak-warmup.log" 8 0 - 1 >/dev/null
RSS_BEFORE=$(rss_kib "$SERVER_PID")

# The requests name d00..d07 and base only; the loop replaces those (tmp + mv: the name never
# disappears, so no request may fail) and adds and removes names no request uses.
(
  i=0
  while :; do
    t=$(printf 'd%02d' $((i % 8)))
    cp "$RUN/delta.safetensors" "$DELTAS/$t.tmp" && mv "$DELTAS/$t.tmp" "$DELTAS/$t.safetensors"
    cp "$RUN/delta.safetensors" "$DELTAS/churn$i.tmp" && mv "$DELTAS/churn$i.tmp" "$DELTAS/churn$i.safetensors"
    rm -f "$DELTAS/churn$((i - 2)).safetensors" "$DELTAS/d$((20 + i % 40)).safetensors"
    cp "$RUN/delta.safetensors" "$DELTAS/d$((20 + (i + 20) % 40)).tmp" &&
      mv "$DELTAS/d$((20 + (i + 20) % 40)).tmp" "$DELTAS/d$((20 + (i + 20) % 40)).safetensors"
    i=$((i + 1))
    sleep 1
  done
) &
CHURN_PID=$!

MARK="$SCRATCH/soak-done."
rm -f "$MARK"*
PER_THREAD=$(( (REQUESTS + WRK_THREADS - 1) / WRK_THREADS ))
START=$SECONDS
LINE=$(wrk_run "$LOGS/soak.log" 8 "$PER_THREAD" "$MARK" 1)
ELAPSED=$((SECONDS - START))
kill -TERM "$CHURN_PID" 2>/dev/null || true
wait "$CHURN_PID" 2>/dev/null || true
CHURN_PID=""
sleep 1
RSS_AFTER=$(rss_kib "$SERVER_PID")
curl -sS "$URL/metrics" >"$LOGS/soak-metrics.txt" || true
RELOADS=$(grep '^vlprompt_delta_reloads_total' "$LOGS/soak-metrics.txt" | tr '\n' ' ')
stop_server
rm -f "$DELTAS"/churn*.safetensors "$MARK"*

/usr/bin/env python3 - "$LINE" "$REQUESTS" "$ELAPSED" "$RSS_START" "$RSS_BEFORE" "$RSS_AFTER" "$RELOADS" "$OUT" <<'EOF'
import json, sys
line, want, elapsed, rss0, rss1, rss2, reloads, out = sys.argv[1:]
x = json.loads(line)
want, rss0, rss1, rss2 = int(want), int(rss0), int(rss1), int(rss2)
errors = {k: v for k, v in x["errors"].items() if k != "status" and v}
ok = x["checked"] >= want and x["non2xx"] == 0 and x["bad_body"] == 0 and not errors
report = {"requests_wanted": want, "checked": x["checked"], "non2xx": x["non2xx"], "bad_body": x["bad_body"],
          "socket_errors": errors, "rps": x["rps"], "p50_ms": x["p50_ms"], "p99_ms": x["p99_ms"],
          "seconds": int(elapsed), "vmrss_kib": {"at_start": rss0, "before": rss1, "after": rss2},
          "reloads": reloads.strip(), "notes": x["notes"], "pass": ok}
json.dump(report, open(f"{out}/bench_serve_soak.json", "w"), indent=1)
print(json.dumps(report, indent=1))
print(("PASS" if ok else "FAIL") + f" soak: {x['checked']} responses checked (wanted {want}), "
      f"{x['non2xx']} non-2xx, {x['bad_body']} malformed, socket errors {errors or 0}; "
      f"VmRSS {rss1} KiB before, {rss2} KiB after ({rss2 - rss1:+d})")
sys.exit(0 if ok else 1)
EOF
