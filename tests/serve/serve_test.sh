#!/usr/bin/env bash
# `vlprompt serve` end to end, as its clients see it: the official OpenAI Node client, curl on the
# KServe v2 routes, hot reload of --delta-dir, back-pressure (429) and the SIGTERM drain.
#
#   tests/serve/serve_test.sh VLPROMPT_BINARY SCRATCH_DIR
#
# Deltas are trained once into SCRATCH_DIR/runs with tiny settings (a few shots and epochs) and reused
# by later runs; delete that folder when the delta format or the shipped models change. Servers listen on loopback
# only, on ports the kernel picks. One PASS/FAIL line per check; exits 1 when any failed.
# Needs node 20 (with `npm ci` done in tests/serve/client), curl, jq, ps and /usr/bin/python3 with
# PIL.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 VLPROMPT_BINARY SCRATCH_DIR" >&2
  exit 2
fi
VLP=$(realpath "$1")
mkdir -p "$2"
SCRATCH=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
LM_MODEL=${VLP_TEST_LM_MODEL:-tiny-pretrained-lm}
CLIP_MODEL=${VLP_TEST_CLIP_MODEL:-tiny-pretrained}
PY=/usr/bin/python3
KEY="test-key-$$"
# Training and the servers share the machine with whatever else runs: keep them on few threads.
THREADS=${VLP_TEST_THREADS:-1}
PROMPT="A fool and his money"
MAX_TOKENS=24
LM_METHODS=(prompt_tuning prefix_tuning lora ia3 adapter)
ALL_MODELS=(base "${LM_METHODS[@]}")

[ -x "$VLP" ] || { echo "FAIL setup: $VLP is not executable" >&2; exit 1; }
[ -d "$HERE/client/node_modules/openai" ] ||
  { echo "FAIL setup: run 'npm ci' in $HERE/client first" >&2; exit 1; }

LOGS="$SCRATCH/logs"
T="$SCRATCH/tmp"
rm -rf "$T" "$LOGS"
mkdir -p "$SCRATCH/runs" "$LOGS" "$T"

FAILED=()
SERVER_PIDS=()
# Whether PID runs: an exited child stays a zombie until waited for, and kill -0 still finds it.
running() {
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $st != Z* ]]
}
# Only the servers this script started; a server already stopped is skipped.
cleanup() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do running "$pid" && kill -TERM "$pid" 2>/dev/null; done
  for pid in "${SERVER_PIDS[@]}"; do
    for _ in $(seq 50); do running "$pid" || break; sleep 0.1; done
    running "$pid" && kill -KILL "$pid" 2>/dev/null
  done
  return 0
}
trap cleanup EXIT

note() { echo "== $*"; }

# Runs a check function, capturing its output so that only a failure's diagnostics are shown.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    echo "PASS $name"
  else
    echo "FAIL $name"
    printf '%s\n' "$out" | tail -n 40 | sed 's/^/    /'
    FAILED+=("$name")
  fi
}

# http METHOD URL [curl args...]: prints the status (000 when no answer came); the body lands in
# $T/body and the headers in $T/headers (checks run one at a time, so they can share them).
http() {
  local method=$1 url=$2
  shift 2
  curl -sS -o "$T/body" -D "$T/headers" -w '%{http_code}' -X "$method" --max-time 120 "$@" "$url" \
    2>"$T/curl.err" || true
}

# expect_status WANT GOT: on a mismatch shows the body (and curl's complaint) and fails.
expect_status() {
  if [ "$1" != "$2" ]; then
    echo "expected HTTP $1, got $2; body: $(head -c 600 "$T/body" 2>/dev/null)"
    [ -s "$T/curl.err" ] && echo "curl: $(cat "$T/curl.err")"
    return 1
  fi
}

# status_of STATUSES BODY_FILE: the status curl --parallel printed (-w '%{http_code} FILE') for
# the transfer that wrote BODY_FILE.
status_of() {
  awk -v f="$2" 'substr($0, index($0, " ") + 1) == f { print $1 }' "$1"
}

# jtest FILE EXPR: EXPR is Python over j, the parsed JSON in FILE (math is imported).
jtest() {
  "$PY" - "$1" "$2" <<'EOF'
import json, math, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"not JSON ({e}): {open(sys.argv[1], errors='replace').read()[:400]}")
    sys.exit(1)
try:
    # Parenthesised, so that the expression may span lines.
    ok = eval("(" + sys.argv[2] + ")", {"math": math}, {"j": j})
except Exception as e:
    ok = False
    print(f"{type(e).__name__}: {e}")
if not ok:
    print(f"expected {sys.argv[2]}\n  in {json.dumps(j)[:800]}")
    sys.exit(1)
EOF
}

# ---------------------------------------------------------------------------------------------
note "Deltas (trained once into $SCRATCH/runs)"
train() {
  local name=$1 dir="$SCRATCH/runs/$1"
  shift
  if [ -f "$dir/delta.safetensors" ] && [ -f "$dir/results.json" ]; then
    echo "reusing $dir"
    return
  fi
  rm -rf "$dir"
  local start=$SECONDS
  if ! OMP_NUM_THREADS=$THREADS "$VLP" train "$@" --seed 1 --out "$dir" train.progress=off \
    >"$LOGS/train-$name.log" 2>&1; then
    echo "FAIL setup: training $name failed; its log:"
    tail -n 40 "$LOGS/train-$name.log"
    exit 1
  fi
  echo "trained $name in $((SECONDS - start)) s"
}
# 4 shots, 8 epochs: fewer leave LoRA, IA3 and the adapter so close to their identity init that
# they generate base's text, and then a server applying the wrong delta would go unnoticed. The
# test-set evaluation that ends each run costs more than these epochs.
for m in "${LM_METHODS[@]}"; do
  train "$m" --method "$m" --model "$LM_MODEL" --dataset fortunes --shots 4 text.max_tokens=64 \
    train.max_epoch=8
done
train coop --method coop --model "$CLIP_MODEL" --dataset fashion_mnist --shots 2 --no-augment \
  train.max_epoch=1

note "Greedy texts of each model served alone (vlprompt lm generate --json)"
alone() {  # MODEL_NAME [--delta FILE]
  local name=$1
  shift
  if ! OMP_NUM_THREADS=$THREADS "$VLP" lm generate --model "$LM_MODEL" "$@" --prompt "$PROMPT" \
    --max-new-tokens "$MAX_TOKENS" --json >"$T/alone-$name.json" 2>"$LOGS/alone-$name.log"; then
    echo "FAIL setup: lm generate for $name failed:"
    cat "$LOGS/alone-$name.log"
    exit 1
  fi
}
alone base
for m in "${LM_METHODS[@]}"; do alone "$m" --delta "$SCRATCH/runs/$m/delta.safetensors"; done
EXPECTED="$SCRATCH/expected.json"
"$PY" - "$EXPECTED" "$PROMPT" "$MAX_TOKENS" "$T" base "${LM_METHODS[@]}" <<'EOF'
import json, sys
out, prompt, max_tokens, tmp, *names = sys.argv[1:]
texts = {}
for n in names:
    # The record is stdout's last line.
    texts[n] = json.loads(open(f"{tmp}/alone-{n}.json").read().strip().splitlines()[-1])["text"]
json.dump({"prompt": prompt, "max_tokens": int(max_tokens), "texts": texts}, open(out, "w"), indent=1)
for n, t in texts.items():
    same = [m for m in texts if m < n and texts[m] == t]
    print(f"  {n:14s} {t!r}" + (f"  (NOTE: the same as {', '.join(same)}: not told apart)" if same else ""))
EOF

# A PNG and a JPEG of Fashion-MNIST test images, for the CLIP routes.
"$PY" - "$T" <<'EOF'
import gzip, sys
from PIL import Image
tmp = sys.argv[1]
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    raw = f.read(16 + 2 * 784)[16:]
Image.frombytes("L", (28, 28), raw[:784]).save(f"{tmp}/image.png")
Image.frombytes("L", (28, 28), raw[784:]).convert("RGB").save(f"{tmp}/image.jpg", quality=95)
EOF

# ---------------------------------------------------------------------------------------------
# start_server NAME ARGS...: starts `vlprompt serve --host 127.0.0.1 --port 0 ARGS`, waits for its
# "listening on" line and sets SERVER_PID and URL. Exits the script, showing the log, when the
# server dies or does not come up within 120 s.
start_server() {
  local name=$1 line=""
  shift
  OMP_NUM_THREADS=$THREADS "$VLP" serve --host 127.0.0.1 --port 0 --threads "$THREADS" "$@" \
    >"$LOGS/$name.out" 2>"$LOGS/$name.err" &
  SERVER_PID=$!
  SERVER_PIDS+=("$SERVER_PID")
  for _ in $(seq 1200); do
    line=$(grep -m1 -o 'listening on http://127\.0\.0\.1:[0-9]*' "$LOGS/$name.out" || true)
    [ -n "$line" ] && break
    if ! running "$SERVER_PID"; then
      echo "FAIL setup: server '$name' exited before listening; its log:"
      cat "$LOGS/$name.out" "$LOGS/$name.err"
      exit 1
    fi
    sleep 0.1
  done
  if [ -z "$line" ]; then
    echo "FAIL setup: server '$name' printed no 'listening on' line within 120 s; its log:"
    cat "$LOGS/$name.out" "$LOGS/$name.err"
    exit 1
  fi
  URL="http://${line#listening on http://}"
  echo "server '$name' (pid $SERVER_PID) at $URL"
}

DELTA_DIR="$SCRATCH/delta-dir"
rm -rf "$DELTA_DIR"
mkdir -p "$DELTA_DIR"
for m in "${LM_METHODS[@]}"; do cp "$SCRATCH/runs/$m/delta.safetensors" "$DELTA_DIR/$m.safetensors"; done
MAX_BODY=1000000
note "The main server: both models, the text deltas from --delta-dir, coop by --delta"
start_server main --model "$CLIP_MODEL" --lm-model "$LM_MODEL" \
  --delta "coop=$SCRATCH/runs/coop/delta.safetensors" --delta-dir "$DELTA_DIR" \
  --watch-interval-ms 200 --api-key "$KEY" --max-body-bytes "$MAX_BODY"
MAIN_PID=$SERVER_PID
MAIN=$URL
AUTH=(-H "Authorization: Bearer $KEY")
JSON=(-H "Content-Type: application/json")

# ---------------------------------------------------------------------------------------------
note "The official OpenAI Node client"
if node "$HERE/openai_client.mjs" "$MAIN" "$KEY" prompt_tuning "$EXPECTED" >"$LOGS/node.log" 2>&1; then
  sed 's/^/  /' "$LOGS/node.log"
  echo "PASS openai node client"
else
  sed 's/^/  /' "$LOGS/node.log"
  echo "FAIL openai node client"
  FAILED+=("openai node client")
fi

# ---------------------------------------------------------------------------------------------
note "KServe v2 and the other routes, with curl"
health() {
  local s
  s=$(http GET "$MAIN/v2/health/live")
  expect_status 200 "$s" && jtest "$T/body" 'j == {"live": True}' || return 1
  s=$(http GET "$MAIN/v2/health/ready")
  expect_status 200 "$s" && jtest "$T/body" 'j["ready"] is True'
}
check "health needs no key" health

metadata() {
  local s
  s=$(http GET "$MAIN/v2/models/coop" "${AUTH[@]}")
  expect_status 200 "$s" || return 1
  jtest "$T/body" 'j["name"] == "coop" and len(j["parameters"]["classes"]) == 10 and
    {i["name"] for i in j["inputs"]} == {"image", "pixels"} and
    [o["name"] for o in j["outputs"]] == ["logits", "labels", "probabilities"]' || return 1
  cp "$T/body" "$T/coop-metadata.json"
  s=$(http GET "$MAIN/v2/models/coop/ready" "${AUTH[@]}")
  expect_status 200 "$s" && jtest "$T/body" 'j["ready"] is True' || return 1
  s=$(http GET "$MAIN/v2/models/base" "${AUTH[@]}")
  expect_status 200 "$s"
}
check "kserve metadata and ready" metadata
RES=$(jq -r '.inputs[] | select(.name == "pixels") | .shape[2]' "$T/coop-metadata.json" 2>/dev/null || echo 0)

# infer_body FILE TOP_K [CLASSES_JSON] IMAGE...: a BYTES infer request of the images.
infer_body() {
  "$PY" - "$@" <<'EOF'
import base64, json, sys
out, top_k, classes, *images = sys.argv[1:]
data = [base64.b64encode(open(p, "rb").read()).decode() for p in images]
params = {"top_k": int(top_k)}
if classes:
    params["classes"] = json.loads(classes)
json.dump({"id": "req-1", "inputs": [{"name": "image", "shape": [len(data)], "datatype": "BYTES",
           "data": data}], "parameters": params}, open(out, "w"))
EOF
}

infer_delta() {
  local s
  infer_body "$T/req.json" 3 "" "$T/image.png" "$T/image.jpg"
  s=$(http POST "$MAIN/v2/models/coop/infer" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/req.json")
  expect_status 200 "$s" || return 1
  cp "$T/body" "$T/infer-coop.json"
  jtest "$T/body" 'j["model_name"] == "coop" and j["id"] == "req-1" and "model_version" in j and
    [o["name"] for o in j["outputs"]] == ["logits", "labels", "probabilities"]' || return 1
  # Probabilities sorted, summing below 1 (top 3 of 10), the logits' best first.
  jtest "$T/body" '(lambda o: o["logits"]["shape"] == [2, 10] and len(o["logits"]["data"]) == 20 and
    o["labels"]["shape"] == [2, 3] and len(o["labels"]["data"]) == 6 and
    o["probabilities"]["shape"] == [2, 3] and
    all(o["probabilities"]["data"][3*i] >= o["probabilities"]["data"][3*i+1] >= o["probabilities"]["data"][3*i+2] > 0
        and sum(o["probabilities"]["data"][3*i:3*i+3]) <= 1 + 1e-5 for i in range(2)) and
    all(math.isfinite(x) for x in o["logits"]["data"]))({o["name"]: o for o in j["outputs"]})' || return 1
  "$PY" - "$T/body" "$T/coop-metadata.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
classes = json.load(open(sys.argv[2]))["parameters"]["classes"]
o = {x["name"]: x for x in j["outputs"]}
for i in range(2):
    row = o["logits"]["data"][10 * i:10 * i + 10]
    best = classes[max(range(10), key=lambda c: row[c])]
    if o["labels"]["data"][3 * i] != best:
        sys.exit(f"image {i}: top label {o['labels']['data'][3 * i]} but the best logit is {best}")
EOF
}
check "kserve infer on the coop delta (base64 PNG + JPEG)" infer_delta

infer_base() {
  local s
  infer_body "$T/req.json" 2 '["a shirt", "a shoe", "a bag"]' "$T/image.png"
  s=$(http POST "$MAIN/v2/models/base/infer" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/req.json")
  expect_status 200 "$s" || return 1
  jtest "$T/body" '(lambda o: o["logits"]["shape"] == [1, 3] and o["labels"]["shape"] == [1, 2] and
    set(o["labels"]["data"]) <= {"a shirt", "a shoe", "a bag"})({o["name"]: o for o in j["outputs"]})' || return 1
  # Zero-shot needs the classes.
  infer_body "$T/req.json" 2 "" "$T/image.png"
  s=$(http POST "$MAIN/v2/models/base/infer" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/req.json")
  expect_status 400 "$s" && jtest "$T/body" '"classes" in j["error"]'
}
check "kserve infer on base with parameters.classes" infer_base

pixels() {
  local s
  [ "$RES" -gt 0 ] 2>/dev/null || { echo "no resolution in the metadata"; return 1; }
  # Zeros are the mean image after normalisation: a valid input.
  "$PY" -c 'import json, sys; r = int(sys.argv[1]); json.dump({"inputs": [{"name": "pixels", "shape": [1, 3, r, r],
    "datatype": "FP32", "data": [0.0] * (3 * r * r)}]}, open(sys.argv[2], "w"))' "$RES" "$T/req.json"
  if [ "$(stat -c %s "$T/req.json")" -lt "$MAX_BODY" ]; then
    s=$(http POST "$MAIN/v2/models/coop/infer" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/req.json")
    expect_status 200 "$s" && jtest "$T/body" 'j["outputs"][0]["shape"] == [1, 10]' || return 1
  fi
  s=$(http POST "$MAIN/v2/models/coop/infer" "${AUTH[@]}" "${JSON[@]}" \
    -d '{"inputs":[{"name":"pixels","shape":[1,3,5,5],"datatype":"FP32","data":[0.0]}]}')
  expect_status 400 "$s" && jtest "$T/body" 'isinstance(j["error"], str) and "shape" in j["error"]'
}
check "kserve FP32 pixels: right shape 200, wrong shape 400 naming the shape" pixels

bad_requests() {
  local s
  s=$(http POST "$MAIN/v2/models/coop/infer" "${AUTH[@]}" "${JSON[@]}" -d '{"inputs": [')
  expect_status 400 "$s" && jtest "$T/body" 'isinstance(j["error"], str) and j["error"]' || return 1
  s=$(http POST "$MAIN/v1/completions" "${AUTH[@]}" "${JSON[@]}" -d '{"model": "base", "prompt": ')
  expect_status 400 "$s" && jtest "$T/body" 'j["error"]["message"] and j["error"]["type"]' || return 1
  # Bytes that are no image.
  s=$(http POST "$MAIN/v2/models/coop/infer" "${AUTH[@]}" "${JSON[@]}" \
    -d '{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["bm90IGFuIGltYWdl"]}]}')
  expect_status 400 "$s" && jtest "$T/body" 'isinstance(j["error"], str)' || return 1
  s=$(http POST "$MAIN/v1/completions" "${AUTH[@]}" "${JSON[@]}" \
    -d '{"model": "prompt_tuning", "prompt": "x", "max_tokens": 0}')
  expect_status 400 "$s" && jtest "$T/body" 'j["error"]["param"] == "max_tokens"'
}
check "malformed JSON and bad inputs: 400 with an error body" bad_requests

unknown_model() {
  local s
  infer_body "$T/req.json" 1 "" "$T/image.png"
  s=$(http POST "$MAIN/v2/models/no-such-model/infer" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/req.json")
  expect_status 404 "$s" && jtest "$T/body" 'isinstance(j["error"], str)' || return 1
  s=$(http GET "$MAIN/v2/models/no-such-model" "${AUTH[@]}")
  expect_status 404 "$s" || return 1
  # A text delta is no CLIP model.
  s=$(http POST "$MAIN/v2/models/prompt_tuning/infer" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/req.json")
  expect_status 404 "$s" || return 1
  s=$(http POST "$MAIN/v1/completions" "${AUTH[@]}" "${JSON[@]}" -d '{"model": "coop", "prompt": "x"}')
  expect_status 404 "$s" && jtest "$T/body" 'j["error"]["code"] == "model_not_found"'
}
check "unknown model: 404" unknown_model

too_large() {
  local s
  head -c $((MAX_BODY + 100000)) /dev/zero | tr '\0' ' ' >"$T/big.json"
  s=$(http POST "$MAIN/v1/completions" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/big.json")
  expect_status 413 "$s" && jtest "$T/body" 'j["error"]["message"]' || return 1
  s=$(http POST "$MAIN/v2/models/coop/infer" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/big.json")
  expect_status 413 "$s" && jtest "$T/body" 'isinstance(j["error"], str)'
}
check "body over --max-body-bytes: 413" too_large

api_key() {
  local s
  s=$(http GET "$MAIN/v1/models")
  expect_status 401 "$s" && jtest "$T/body" 'j["error"]["code"] == "invalid_api_key"' || return 1
  s=$(http GET "$MAIN/v1/models" -H "Authorization: Bearer wrong")
  expect_status 401 "$s" || return 1
  s=$(http POST "$MAIN/v1/completions" "${JSON[@]}" -d '{"model": "base", "prompt": "x"}')
  expect_status 401 "$s" || return 1
  s=$(http GET "$MAIN/v2/models/coop")
  expect_status 401 "$s" && jtest "$T/body" 'isinstance(j["error"], str)' || return 1
  s=$(http POST "$MAIN/v2/models/coop/infer" "${JSON[@]}" -d '{}')
  expect_status 401 "$s" || return 1
  s=$(http GET "$MAIN/metrics")
  expect_status 401 "$s"
}
check "missing or wrong API key: 401" api_key

embeddings() {
  local s
  s=$(http POST "$MAIN/v1/embeddings" "${AUTH[@]}" "${JSON[@]}" \
    -d '{"model": "base", "input": ["a photo of a shirt", "a photo of a shoe"]}')
  expect_status 200 "$s" || return 1
  jtest "$T/body" 'j["object"] == "list" and len(j["data"]) == 2 and
    [d["index"] for d in j["data"]] == [0, 1] and
    len(j["data"][0]["embedding"]) == len(j["data"][1]["embedding"]) > 1 and
    all(abs(math.sqrt(sum(x * x for x in d["embedding"])) - 1) < 1e-3 for d in j["data"]) and
    j["data"][0]["embedding"] != j["data"][1]["embedding"] and j["usage"]["prompt_tokens"] > 0' || return 1
  # The same vectors `vlprompt embed` writes for these texts.
  "$VLP" embed --model "$CLIP_MODEL" --texts "a photo of a shirt" "a photo of a shoe" --normalize \
    --out "$T/embed.npy" >"$T/embed.log" 2>&1 || { cat "$T/embed.log"; return 1; }
  "$PY" - "$T/body" "$T/embed.npy" <<'EOF2' || return 1
import json, sys
import numpy as np
served = np.array([d["embedding"] for d in json.load(open(sys.argv[1]))["data"]])
cli = np.load(sys.argv[2])
if served.shape != cli.shape or np.abs(served - cli).max() > 1e-5:
    print(f"served {served.shape} vs vlprompt embed {cli.shape}: max diff "
          f"{np.abs(served - cli).max() if served.shape == cli.shape else 'n/a'}")
    sys.exit(1)
EOF2
  s=$(http POST "$MAIN/v1/embeddings" "${AUTH[@]}" "${JSON[@]}" -d '{"model": "base", "input": "one string"}')
  expect_status 200 "$s" && jtest "$T/body" 'len(j["data"]) == 1' || return 1
  s=$(http POST "$MAIN/v1/embeddings" "${AUTH[@]}" "${JSON[@]}" -d '{"model": "base"}')
  expect_status 400 "$s" && jtest "$T/body" 'j["error"]["param"] == "input"'
}
check "embeddings: unit-norm vectors" embeddings

classify() {
  local s
  s=$(http POST "$MAIN/v1/classify" "${AUTH[@]}" "${JSON[@]}" \
    -d '{"model": "prompt_tuning", "input": ["Never trust a computer you cannot lift.", "The judge ruled"]}')
  expect_status 200 "$s" || return 1
  # Every class scored, each label the best-scoring class, scores log-likelihoods (<= 0).
  jtest "$T/body" 'j["object"] == "list" and len(j["data"]) == 2 and
    all(len(d["scores"]) >= 2 and d["label"] == max(d["scores"], key=d["scores"].get) and
        all(v <= 0 for v in d["scores"].values()) for d in j["data"]) and
    j["data"][0]["scores"] != j["data"][1]["scores"]' || return 1
  s=$(http POST "$MAIN/v1/classify" "${AUTH[@]}" "${JSON[@]}" -d '{"model": "nope", "input": "x"}')
  expect_status 404 "$s" || return 1
  s=$(http POST "$MAIN/v1/classify" "${AUTH[@]}" "${JSON[@]}" -d '{"model": "prompt_tuning", "input": 3}')
  expect_status 400 "$s" && jtest "$T/body" 'j["error"]["param"] == "input"'
}
check "classify: rank classification through a text delta" classify

# ---------------------------------------------------------------------------------------------
note "Hot reload of --delta-dir"
# listed NAME: prints the method of delta NAME in /v1/models, nothing when it is not listed.
listed() {
  local s
  s=$(http GET "$MAIN/v1/models" "${AUTH[@]}")
  [ "$s" = 200 ] || return 0
  jq -r --arg n "$1" '.data[] | select(.id == $n) | .vlprompt.method' "$T/body"
}
# wait_listed NAME METHOD: until /v1/models shows NAME with METHOD ("" = not listed); 10 s at most.
wait_listed() {
  for _ in $(seq 100); do
    [ "$(listed "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  echo "after 10 s /v1/models shows '$1' as '$(listed "$1")', expected '$2'"
  return 1
}
complete_greedy() {  # MODEL: prints the status; the body in $T/body
  http POST "$MAIN/v1/completions" "${AUTH[@]}" "${JSON[@]}" -d "$(jq -cn --arg m "$1" \
    --arg p "$PROMPT" --argjson n "$MAX_TOKENS" '{model: $m, prompt: $p, max_tokens: $n, temperature: 0}')"
}
alone_text() { jq -r --arg m "$1" '.texts[$m]' "$EXPECTED"; }

# hot_swap SOURCE: SOURCE's delta file moved into the folder as "hot" (tmp + mv) is served as
# SOURCE is alone.
hot_swap() {
  local s source=$1
  cp "$SCRATCH/runs/$source/delta.safetensors" "$DELTA_DIR/hot.tmp"
  mv "$DELTA_DIR/hot.tmp" "$DELTA_DIR/hot.safetensors"
  wait_listed hot "$(listed "$source")" || return 1
  s=$(complete_greedy hot)
  expect_status 200 "$s" || return 1
  [ "$(jq -r '.choices[0].text' "$T/body")" = "$(alone_text "$source")" ] ||
    { echo "text $(jq '.choices[0].text' "$T/body") is not $source's alone text"; return 1; }
}
check "hot reload: a delta moved into the folder is served" hot_swap prompt_tuning
check "hot reload: a replaced file is reloaded" hot_swap prefix_tuning

hot_remove() {
  local s
  rm "$DELTA_DIR/hot.safetensors"
  wait_listed hot "" || return 1
  s=$(complete_greedy hot)
  expect_status 404 "$s" && jtest "$T/body" 'j["error"]["code"] == "model_not_found"' || return 1
  # The others stay.
  s=$(complete_greedy prompt_tuning)
  expect_status 200 "$s"
}
check "hot reload: a removed file is dropped (404)" hot_remove

hot_bad() {
  local s
  head -c 1000 /dev/urandom >"$DELTA_DIR/broken.tmp"
  mv "$DELTA_DIR/broken.tmp" "$DELTA_DIR/broken.safetensors"
  sleep 1
  [ -z "$(listed broken)" ] || { echo "a corrupt file is listed"; return 1; }
  rm "$DELTA_DIR/broken.safetensors"
  s=$(complete_greedy prompt_tuning)
  expect_status 200 "$s"
}
check "hot reload: a corrupt file is refused, the server stays up" hot_bad

metrics() {
  local s
  s=$(http GET "$MAIN/metrics" "${AUTH[@]}")
  expect_status 200 "$s" || return 1
  local want
  for want in \
    '^vlprompt_requests_total\{route="/v1/completions",model="prompt_tuning",status="200"\} [1-9]' \
    '^vlprompt_requests_total\{route="/v1/completions",model="no-such-delta",status="404"\} [1-9]' \
    '^vlprompt_requests_total\{route="/v2/models/\{name\}/infer",model="coop",status="200"\} [1-9]' \
    '^vlprompt_requests_total\{route="/v1/models",.*status="401"\} [1-9]' \
    '^vlprompt_batch_rows_bucket\{' \
    '^vlprompt_batch_deltas_bucket\{' \
    '^vlprompt_generated_tokens_total [1-9]' \
    '^vlprompt_lm_queue_depth [0-9]' \
    '^vlprompt_request_duration_seconds_bucket\{.*route="/v1/completions"' \
    '^vlprompt_delta_reloads_total\{outcome="loaded"\} [1-9]'; do
    grep -Eq "$want" "$T/body" || { echo "no line matches $want"; grep -E '^vlprompt_(requests|gen)' "$T/body" | head -30; return 1; }
  done
  # Mixed batching: some decoding step held rows of more than one delta (the concurrent checks).
  "$PY" - "$T/body" <<'EOF' || return 1
import re, sys
text = open(sys.argv[1]).read()
b = {m[0]: int(m[1]) for m in re.findall(r'^vlprompt_batch_deltas_bucket\{le="([^"]+)",kind="lm_decode"\} (\d+)', text, re.M)}
if not b or b["+Inf"] <= b.get("1", 0):
    sys.exit(f"no decoding step held two deltas: {b}")
EOF
}
check "metrics: the counters" metrics

# ---------------------------------------------------------------------------------------------
note "Back-pressure: --max-queue 1 --max-batch 1 under 20 concurrent completions"
start_server queue --lm-model "$LM_MODEL" --max-queue 1 --max-batch 1 \
  --delta "prompt_tuning=$SCRATCH/runs/prompt_tuning/delta.safetensors"
QUEUE=$URL
QUEUE_PID=$SERVER_PID
queue_full() {
  local i args=()
  # One curl process opening all 20 connections at once (--parallel).
  for i in $(seq 20); do
    [ "$i" -gt 1 ] && args+=(--next)
    args+=(-sS -o "$T/q$i.body" -D "$T/q$i.headers" -w '%{http_code} %{filename_effective}\n'
      --max-time 120 "${JSON[@]}"
      -d "{\"model\": \"prompt_tuning\", \"prompt\": \"$PROMPT\", \"max_tokens\": 48, \"temperature\": 0}"
      "$QUEUE/v1/completions")
  done
  curl -sS --no-progress-meter --parallel --parallel-immediate --parallel-max 20 "${args[@]}" >"$T/queue.statuses" 2>"$T/queue.err" || true
  for i in $(seq 20); do status_of "$T/queue.statuses" "$T/q$i.body" >"$T/q$i.status"; done
  local ok=0 full=0 other=0
  for i in $(seq 20); do
    case "$(cat "$T/q$i.status")" in
      200) jtest "$T/q$i.body" 'j["choices"][0]["finish_reason"] in ("stop", "length")' || return 1
        ok=$((ok + 1)) ;;
      429) grep -qi '^retry-after: *1' "$T/q$i.headers" ||
        { echo "a 429 without Retry-After: 1:"; cat "$T/q$i.headers"; return 1; }
        jtest "$T/q$i.body" 'j["error"]["type"] and j["error"]["message"]' || return 1
        full=$((full + 1)) ;;
      *) echo "request $i: status $(cat "$T/q$i.status"): $(cat "$T/q$i.body" "$T/q$i.err" 2>/dev/null)"
        other=$((other + 1)) ;;
    esac
  done
  echo "200: $ok, 429: $full, other: $other"
  [ "$full" -ge 1 ] && [ "$ok" -ge 1 ] && [ "$other" -eq 0 ]
}
check "queue full: 429 with Retry-After, nothing else fails" queue_full
kill -TERM "$QUEUE_PID" 2>/dev/null || true

# ---------------------------------------------------------------------------------------------
note "--request-timeout: a request still waiting after it gets 504"
# The idle loop holds a lone request for --max-wait-ms (3 s), past the 0.5 s timeout.
start_server timeout --lm-model "$LM_MODEL" --max-batch 64 --max-wait-ms 3000 --request-timeout 0.5
TIMEOUT_URL=$URL
TIMEOUT_PID=$SERVER_PID
timed_out() {
  local s
  s=$(http POST "$TIMEOUT_URL/v1/completions" "${JSON[@]}" \
    -d "{\"model\": \"base\", \"prompt\": \"$PROMPT\", \"max_tokens\": 4}")
  expect_status 504 "$s" && jtest "$T/body" 'j["error"]["type"] == "timeout"'
}
check "request timeout: 504 with a timeout error" timed_out
kill -TERM "$TIMEOUT_PID" 2>/dev/null || true

# ---------------------------------------------------------------------------------------------
note "SIGTERM drains: accepted completions finish, the server exits 0"
# A tiny LM answers a completion in milliseconds, faster than a script can see it start. An idle
# loop waits --max-wait-ms for a full batch (--max-batch) before its first pass, so the requests
# are held accepted in the queue for 3 s and the signal certainly comes before any is answered.
start_server drain --lm-model "$LM_MODEL" --max-batch 64 --max-wait-ms 3000 --delta-dir "$DELTA_DIR"
DRAIN=$URL
DRAIN_PID=$SERVER_PID
# Greedy rows that start in one pass beside much longer rows leaving after two tokens: the batch
# re-packs its columns when they go (padding past 16 columns), and the remaining rows must still
# give their alone texts. The idle wait above makes them all start together, so the path is taken
# on every run rather than when timing happens to allow it.
rows_leaving() {
  local i args=() models=("${ALL_MODELS[@]}") long
  long=$(printf 'law %.0s' $(seq 100))
  for i in $(seq 0 $((${#models[@]} + 1))); do
    [ "$i" -gt 0 ] && args+=(--next)
    if [ "$i" -lt "${#models[@]}" ]; then
      args+=(-o "$T/r$i.body" -d "$(jq -cn --arg m "${models[$i]}" --arg p "$PROMPT" \
        --argjson n "$MAX_TOKENS" '{model: $m, prompt: $p, max_tokens: $n, temperature: 0}')")
    else
      args+=(-o "$T/r$i.body" -d "{\"model\": \"base\", \"prompt\": \"$long\", \"max_tokens\": 2, \"temperature\": 0}")
    fi
    args+=(-sS -w '%{http_code} %{filename_effective}\n' --max-time 120 "${JSON[@]}" "$DRAIN/v1/completions")
  done
  curl -sS --no-progress-meter --parallel --parallel-immediate --parallel-max 16 "${args[@]}" \
    >"$T/rows.statuses" || return 1
  local bad=0 text
  for i in $(seq 0 $((${#models[@]} - 1))); do
    text=$(jq -r '.choices[0].text' "$T/r$i.body" 2>/dev/null || echo "(no JSON: $(head -c 200 "$T/r$i.body"))")
    if [ "$(status_of "$T/rows.statuses" "$T/r$i.body")" != 200 ] || [ "$text" != "$(alone_text "${models[$i]}")" ]; then
      echo "${models[$i]}: got $(jq -Rn --arg t "$text" '$t'), alone $(jq '.texts["'"${models[$i]}"'"]' "$EXPECTED")"
      bad=1
    fi
  done
  [ "$bad" = 0 ]
}
check "rows leaving a running batch leave the others' texts unchanged" rows_leaving

# sum_metric NAME_REGEX: the sum of the samples whose name and labels match, from $T/metrics.
sum_metric() {
  awk -v re="$1" '$0 !~ /^#/ && $1 ~ re { s += $2 } END { print s + 0 }' "$T/metrics"
}
drain() {
  local i n=12 args=() models=()
  for i in $(seq "$n"); do models+=("${ALL_MODELS[$((i % ${#ALL_MODELS[@]}))]}"); done
  # One curl process opening every connection at once (--parallel), well within the idle wait.
  for i in $(seq "$n"); do
    [ "$i" -gt 1 ] && args+=(--next)
    args+=(-sS -o "$T/d$i.body" -w '%{http_code} %{filename_effective}\n' --max-time 120 "${JSON[@]}"
      -d "{\"model\": \"${models[$((i - 1))]}\", \"prompt\": \"$PROMPT\", \"max_tokens\": 48, \"temperature\": 0}"
      "$DRAIN/v1/completions")
  done
  local before
  curl -sS -o "$T/metrics" --max-time 5 "$DRAIN/metrics" || return 1
  before=$(sum_metric '^vlprompt_requests_total[{]route="/v1/completions"')
  curl -sS --no-progress-meter --parallel --parallel-immediate --parallel-max "$n" "${args[@]}" >"$T/drain.statuses" 2>"$T/drain.err" &
  local client=$!
  # Every request accepted: in the queue, none answered yet (the counter also holds the requests
  # of the checks before this one).
  local queued=0 answered=0 ready=0
  for _ in $(seq 500); do
    curl -sS -o "$T/metrics" --max-time 5 "$DRAIN/metrics" 2>/dev/null || true
    answered=$(($(sum_metric '^vlprompt_requests_total[{]route="/v1/completions"') - before))
    queued=$(sum_metric '^vlprompt_lm_(queue_depth|running)$')
    if [ "$queued" -ge "$n" ]; then ready=1; break; fi
    [ "$answered" -gt 0 ] && break
    sleep 0.01
  done
  kill -TERM "$DRAIN_PID"
  local signalled=$SECONDS
  echo "at SIGTERM: $queued of $n accepted and waiting, $answered answered"
  wait "$client" || true
  local rc=0 exited=0
  for _ in $(seq 300); do
    running "$DRAIN_PID" || { exited=1; break; }
    sleep 0.1
  done
  [ "$exited" = 1 ] || { echo "the server did not exit within 30 s of SIGTERM"; return 1; }
  wait "$DRAIN_PID" || rc=$?
  local bad=0
  for i in $(seq "$n"); do
    local status
    status=$(status_of "$T/drain.statuses" "$T/d$i.body")
    if [ "$status" != 200 ] ||
      ! jtest "$T/d$i.body" 'j["choices"][0]["finish_reason"] in ("stop", "length")' >/dev/null; then
      echo "request $i (${models[$((i - 1))]}): status ${status:-none}: $(head -c 300 "$T/d$i.body" 2>/dev/null)"
      bad=1
    fi
  done
  [ -s "$T/drain.err" ] && { echo "curl: $(cat "$T/drain.err")"; bad=1; }
  [ "$rc" = 0 ] || { echo "the server exited $rc"; tail -5 "$LOGS/drain.err"; bad=1; }
  grep -q SIGTERM "$LOGS/drain.err" || { echo "the log does not mention SIGTERM"; bad=1; }
  if [ "$ready" != 1 ]; then
    echo "the requests were not all waiting in the queue at SIGTERM: the drain was not exercised"
    bad=1
  fi
  echo "answered and exited $((SECONDS - signalled)) s after SIGTERM"
  [ "$bad" = 0 ]
}
# Run in this shell (not through check's subshell) so that `wait` can reap the server.
if drain >"$T/drain.out" 2>&1; then
  echo "PASS SIGTERM drain: every accepted completion answered 200, exit 0"
  sed 's/^/    /' "$T/drain.out"
else
  echo "FAIL SIGTERM drain"
  sed 's/^/    /' "$T/drain.out"
  FAILED+=("SIGTERM drain")
fi

main_alive() {
  running "$MAIN_PID" || { echo "the main server died; its log:"; tail -20 "$LOGS/main.err"; return 1; }
  local s
  s=$(http GET "$MAIN/v2/health/ready")
  expect_status 200 "$s"
}
check "the main server is still up" main_alive

echo
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "serve_test: FAIL (${#FAILED[@]}): ${FAILED[*]}"
  echo "logs: $LOGS"
  exit 1
fi
echo "serve_test: PASS (logs: $LOGS)"
