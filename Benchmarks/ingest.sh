#!/usr/bin/env bash
# Collector ingest: wrk posts batches of 100 generated events (NDJSON, ~51 KB) to a running
# `creator-analytics serve` (release build) for 10 s; prints requests/s, the events the job
# took in (from /metrics), non-2xx answers and latency percentiles.
# Needs wrk (Debian package). Usage: bash Benchmarks/ingest.sh [connections] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
connections=${1:-8}
seconds=${2:-10}
work=$(mktemp -d)
trap 'kill -INT "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
swift build -c release --product creator-analytics >/dev/null
bin=.build/release/creator-analytics
"$bin" generate --events 100 --seed 5 --output "$work/body.ndjson"
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-ndjson"
local f = io.open("$work/body.ndjson", "r")
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  io.write(string.format("requests %d, non-2xx %d, p50 %.2f ms, p99 %.2f ms\n", summary.requests,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
"$bin" serve --port 0 --insecure-no-auth --parallelism 2 2> "$work/serve.log" &
server=$!
for _ in $(seq 50); do grep -q "serving on" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
port=$(grep -o "127.0.0.1:[0-9]*" "$work/serve.log" | cut -d: -f2)
wrk -t1 -c"$connections" -d"${seconds}s" -s "$work/post.lua" "http://127.0.0.1:$port/v1/events" | tail -4
accepted=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^runnel_collector_events_accepted_total/ {print $2}')
echo "events accepted into the job: $accepted in ${seconds} s ($((accepted / seconds)) events/s)"
