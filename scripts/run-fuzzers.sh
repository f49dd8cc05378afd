#!/bin/bash
# Runs every libFuzzer target of a fuzz build for a bounded time, starting
# from its seed corpus in tests/fuzz/corpus/<target>/ (a copy is used, so the
# committed corpus only changes by hand).  Fails on any crash, leak or hang.
# usage: scripts/run-fuzzers.sh BUILD_DIR SECONDS_PER_TARGET
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$1
secs=${2:-20}
shopt -s nullglob
targets=("$build"/tests/fuzz/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
    echo "run-fuzzers: no fuzz targets in $build/tests/fuzz" >&2
    exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in "${targets[@]}"; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    seeds="$top/tests/fuzz/corpus/${name#fuzz_}"
    if [ ! -d "$seeds" ]; then
        echo "run-fuzzers: missing seed corpus $seeds" >&2
        exit 1
    fi
    mkdir -p "$work/$name"
    cp -r "$seeds"/. "$work/$name/"
    echo "fuzzing $name for ${secs}s"
    (cd "$work" && "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "$work/$name" 2>"$work/$name.log") || {
        tail -50 "$work/$name.log" >&2
        echo "run-fuzzers: $name failed" >&2
        exit 1
    }
    grep -E 'stat::number_of_executed_units' "$work/$name.log" || true
done
echo "run-fuzzers: ${#targets[@]} targets ran clean"
