-- wrk script for tools/bench_serve.sh: greedy POST /v1/completions round-robin over K deltas.
--
--   wrk ... -s tools/bench_serve.lua URL -- K PREFIX [BUDGET MARKER] [MAX_TOKENS] [BASE]
--
-- The deltas are PREFIX00 .. PREFIX(K-1), two digits. BASE = 1 adds the frozen model ("base") to
-- the rotation. wrk only bounds time, and sleeps out its whole -d even when every thread has
-- stopped: with BUDGET > 0 each thread stops after that many responses and creates the file
-- MARKER<thread index>, and the caller ends wrk with SIGINT (which still runs done()) once every
-- thread's marker is there. Every response is checked (2xx, a body holding choices); done() prints one line,
-- "BENCH {json}", for the script.

local prompt = "A fool and his money"

-- setup() and done() run in their own Lua state; the threads' counters are read back through these.
local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local bodies = {}
local next_body = 1
local budget = 0
local marker = nil
-- Globals, for done() to read through thread:get().
answered = 0
non2xx = 0
bad_body = 0
statuses = ""

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function init(args)
  local k = tonumber(args[1] or "1")
  local prefix = args[2] or "d"
  budget = tonumber(args[3] or "0")
  marker = args[4]
  local max_tokens = tonumber(args[5] or "16")
  local names = {}
  for i = 0, k - 1 do table.insert(names, string.format("%s%02d", prefix, i)) end
  if args[6] == "1" then table.insert(names, "base") end
  local headers = { ["Content-Type"] = "application/json" }
  for _, name in ipairs(names) do
    local body = string.format('{"model":%s,"prompt":%s,"max_tokens":%d,"temperature":0}',
                               json_string(name), json_string(prompt), max_tokens)
    table.insert(bodies, wrk.format("POST", "/v1/completions", headers, body))
  end
  -- Threads start at different deltas so that concurrent requests spread over all K at once.
  next_body = (thread_index or 0) % #bodies + 1
end

function request()
  local r = bodies[next_body]
  next_body = next_body % #bodies + 1
  return r
end

local seen = {}

function response(status, headers, body)
  answered = answered + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if not seen[status] then
      seen[status] = true
      statuses = statuses .. " " .. status .. ":" .. (body or ""):sub(1, 200):gsub("%c", " ")
    end
  elseif not (body and body:find('"choices":[{', 1, true) and body:find('"text":', 1, true)
              and body:sub(1, 1) == "{" and body:sub(-1) == "}") then
    bad_body = bad_body + 1
    if bad_body <= 3 then statuses = statuses .. " bad-body:" .. (body or ""):sub(1, 200) end
  end
  if budget > 0 and answered == budget then
    if marker and marker ~= "" and marker ~= "-" then
      local f = io.open(marker .. (thread_index or 0), "w")
      if f then f:close() end
    end
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local n2, bad, answered_all, notes = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    n2 = n2 + (t:get("non2xx") or 0)
    bad = bad + (t:get("bad_body") or 0)
    answered_all = answered_all + (t:get("answered") or 0)
    notes = notes .. (t:get("statuses") or "")
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"seconds":%.3f,"rps":%.2f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,' ..
    '"max_ms":%.3f,"checked":%d,"non2xx":%d,"bad_body":%d,"errors":{"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d},"notes":%s}\n',
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1e3,
    latency:percentile(90) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3, answered_all, n2, bad,
    e.connect, e.read, e.write, e.status, e.timeout, json_string(notes)))
end
