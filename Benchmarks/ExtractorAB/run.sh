#!/usr/bin/env bash
# Times the JSON extractor of the working tree against the one of another commit, in one
# process, in alternating rounds (see extractor_ab.cpp for why).
#
# Usage: bash Benchmarks/ExtractorAB/run.sh [--base COMMIT] [--input FILE] [--rounds N]
#   --base    the commit whose Sources/CSimdjson/runnel_simdjson.cpp is the base (HEAD)
#   --input   NDJSON lines to parse (default: 1,000,000 generated creator events, made once
#             with the debug build of creator-analytics into a temporary directory)
#   --rounds  rounds of both builds (10)
#   --smoke   a tiny check for CI: 2,000 generated events, 2 rounds
set -euo pipefail
cd "$(dirname "$0")/../.."
base=HEAD
input=""
rounds=10
events=1000000
while [ $# -gt 0 ]; do
    case "$1" in
        --base) base=$2; shift 2 ;;
        --input) input=$(realpath "$2"); shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --smoke) events=2000; rounds=2; shift ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cxx=$(command -v clang++ || command -v c++ || true)
[ -n "$cxx" ] || { echo "no C++ compiler (clang++ or c++) found" >&2; exit 1; }
# Both builds and the harness share the working tree's header, so the base must have the same
# one: the C API's types and limits may differ between commits.
if ! git diff --quiet "$base" -- Sources/CSimdjson/include; then
    echo "Sources/CSimdjson/include differs between $base and the working tree: the builds' C APIs may differ" >&2
    exit 1
fi
git show "$base:Sources/CSimdjson/runnel_simdjson.cpp" > "$work/base.cpp"
# The flags of the CSimdjson target in Package.swift (-O3), as shared objects whose calls to
# their own functions are not routed through the PLT (as in the statically linked build).
flags=(-std=c++17 -O3 -fPIC -shared -fno-semantic-interposition -ISources/CSimdjson/include)
"$cxx" "${flags[@]}" "$work/base.cpp" -lsimdjson -o "$work/base.so"
"$cxx" "${flags[@]}" Sources/CSimdjson/runnel_simdjson.cpp -lsimdjson -o "$work/new.so"
"$cxx" -std=c++17 -O2 -ISources/CSimdjson/include Benchmarks/ExtractorAB/extractor_ab.cpp -ldl -o "$work/extractor-ab"
if [ -z "$input" ]; then
    [ -x .build/debug/creator-analytics ] || swift build --product creator-analytics >&2
    input="$work/events.ndjson"
    .build/debug/creator-analytics generate --events "$events" --seed 42 --output "$input" > /dev/null
fi
echo "base: $base ($(git rev-parse --short "$base")), new: the working tree; input: $input"
"$work/extractor-ab" "$work/base.so" "$work/new.so" "$input" "$rounds"
