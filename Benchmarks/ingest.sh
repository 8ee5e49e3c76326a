#!/usr/bin/env bash
# Collector ingest: wrk posts batches of 100 generated events (NDJSON, ~51 KB) to a running
# `creator-analytics serve` (release build) for a while; prints requests/s, the events the
# job took in and the events its deduplication passed on (from /metrics), non-2xx answers
# and latency percentiles.
#
# Mode `unique` (default) gives every event of every request its own event_id (a UUID with
# a per-request counter), so everything posted passes deduplication and goes on through
# the windows; mode `repeat` posts the same 100 events again and again, so after the first
# request deduplication drops them (the collector and the job's intake alone).
# Needs wrk (Debian package). Usage: bash Benchmarks/ingest.sh [connections] [seconds] [unique|repeat]
set -euo pipefail
cd "$(dirname "$0")/.."
connections=${1:-8}
seconds=${2:-10}
mode=${3:-unique}
work=$(mktemp -d)
trap 'kill -INT "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
swift build -c release --product creator-analytics >/dev/null
bin=.build/release/creator-analytics
"$bin" generate --events 100 --seed 5 --output "$work/body.ndjson"
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-ndjson"
local f = io.open("$work/body.ndjson", "r")
local template = f:read("*a")
f:close()
local unique = "$mode" == "unique"
-- The body cut around each event_id value, so that a request is the pieces joined with
-- fresh ids (table.concat: no pattern substitution per request).
local pieces, pos = {}, 1
while true do
  local s, e = template:find('"event_id":%s*"', pos)
  if not s then break end
  pieces[#pieces + 1] = template:sub(pos, e)
  pos = template:find('"', e + 1, true)
end
pieces[#pieces + 1] = template:sub(pos)
local counter = 0
request = function()
  if not unique then return wrk.format(nil, nil, nil, template) end
  counter = counter + 1
  local parts = {}
  for i = 1, #pieces - 1 do
    parts[#parts + 1] = pieces[i]
    parts[#parts + 1] = string.format("%08x-%04x-4000-8000-000000000000", counter, i)
  end
  parts[#parts + 1] = pieces[#pieces]
  return wrk.format(nil, nil, nil, table.concat(parts))
end
done = function(summary, latency, requests)
  io.write(string.format("requests %d, non-2xx %d, p50 %.2f ms, p99 %.2f ms\n", summary.requests,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
"$bin" serve --port 0 --insecure-no-auth --parallelism 2 --data-dir "$work/data" 2> "$work/serve.log" &
server=$!
for _ in $(seq 50); do grep -q "serving on" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
port=$(grep -o "127.0.0.1:[0-9]*" "$work/serve.log" | cut -d: -f2)
wrk -t1 -c"$connections" -d"${seconds}s" -s "$work/post.lua" "http://127.0.0.1:$port/v1/events" | tail -4
sleep 1
metrics=$(curl -s "http://127.0.0.1:$port/metrics")
accepted=$(awk '/^runnel_collector_events_accepted_total/ {print $2}' <<<"$metrics")
passed=$(awk '/^runnel_records_out_total\{operator="dedup"\}/ {print $2}' <<<"$metrics")
saturated=$(awk '/^runnel_collector_saturated_total/ {print $2}' <<<"$metrics")
echo "events accepted into the job: $accepted in ${seconds} s ($((accepted / seconds)) events/s); passed deduplication: $passed; 503 answers: $saturated"
