#!/usr/bin/env bash
# Installs dependencies, builds Runnel in release mode, generates a day of creator-platform
# traffic and replays it through the analytics job. Results land in ./out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product creator-analytics
bin=$(swift build -c release --show-bin-path)/creator-analytics
mkdir -p out
events=${EVENTS:-1000000}
echo "generating $events events into out/events.ndjson"
"$bin" generate --events "$events" --seed 42 --output out/events.ndjson
echo "replaying (results: out/results.ndjson, dead letters: out/dead-letters.ndjson)"
"$bin" replay --input out/events.ndjson --output out/results.ndjson --dead-letter out/dead-letters.ndjson "$@"
