#!/bin/bash
# Runs the libFuzzer targets of a fuzz build, one process at a time, each
# starting from its seed corpus in tests/fuzz/corpus/<target>/ (a copy is
# used: the committed corpus changes only with --merge).
#
# Short mode (CI):
#   scripts/run-fuzzers.sh BUILD_DIR [SECONDS_PER_TARGET]
#   every target for SECONDS (default 20); fails on any crash, leak or hang.
#
# Long campaign (outside CI):
#   scripts/run-fuzzers.sh [options] BUILD_DIR
#     --runs N         executions per target (libFuzzer -runs)
#     --time SECS      wall-clock budget per target (with --runs: whichever first)
#     --until HH:MM    stop the campaign at this time (UTC); the target running
#                      then gets the time left, later targets are skipped
#     --targets a,b    only these targets (names without fuzz_), in this order
#     --fastest-first  measure every target for a few seconds, then run them
#                      from the highest exec/s down
#     --merge          merge the inputs that add coverage back into
#                      tests/fuzz/corpus/<target>/ (only new files of at most
#                      --max-corpus-bytes, default 4096)
#     --out DIR        keep logs, crash artifacts and summary.tsv here
#                      (default: a temporary folder, removed at the end)
#     --timeout SECS   an input running longer is a finding (libFuzzer -timeout,
#                      wall-clock; default 10).  On a loaded machine a process
#                      under nice -n 19 can wait that long for a CPU: raise it
#                      there (e.g. 120) so that starvation is not taken for a hang
#   Keeps going after a finding (the artifact is kept in --out) and exits 1
#   at the end if any target found a crash, leak, timeout or OOM.
#   summary.tsv: target, status, executions, seconds, exec/s, cov, ft,
#   corpus files, corpus bytes, new corpus files.
#   Run it at low priority on a shared machine:  nice -n 19 scripts/run-fuzzers.sh ...
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

runs="" secs="" until_hm="" only="" fastest=0 merge=0 out="" maxbytes=4096 long=0 tmo=10
args=()
while [ $# -gt 0 ]; do
    case $1 in
        --runs) runs=$2; long=1; shift 2 ;;
        --time) secs=$2; long=1; shift 2 ;;
        --until) until_hm=$2; long=1; shift 2 ;;
        --targets) only=$2; long=1; shift 2 ;;
        --fastest-first) fastest=1; long=1; shift ;;
        --merge) merge=1; long=1; shift ;;
        --max-corpus-bytes) maxbytes=$2; shift 2 ;;
        --out) out=$2; long=1; shift 2 ;;
        --timeout) tmo=$2; shift 2 ;;
        -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
        -*) echo "run-fuzzers: unknown option $1" >&2; exit 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
if [ ${#args[@]} -lt 1 ]; then
    echo "usage: run-fuzzers.sh [options] BUILD_DIR [SECONDS_PER_TARGET]" >&2
    exit 2
fi
build=$(cd "${args[0]}" && pwd)
if [ $long -eq 0 ]; then
    secs=${args[1]:-20}
fi

shopt -s nullglob
targets=()
if [ -n "$only" ]; then
    IFS=, read -r -a names <<<"$only"
    for n in "${names[@]}"; do
        if [ ! -x "$build/tests/fuzz/fuzz_$n" ]; then
            echo "run-fuzzers: no target fuzz_$n in $build/tests/fuzz" >&2
            exit 1
        fi
        targets+=("$build/tests/fuzz/fuzz_$n")
    done
else
    for t in "$build"/tests/fuzz/fuzz_*; do
        [ -x "$t" ] && [ -f "$t" ] && targets+=("$t")
    done
fi
if [ ${#targets[@]} -eq 0 ]; then
    echo "run-fuzzers: no fuzz targets in $build/tests/fuzz" >&2
    exit 1
fi

work=$(mktemp -d)
if [ -z "$out" ]; then
    out="$work/out"
fi
mkdir -p "$out"
trap 'rm -rf "$work"' EXIT

deadline=""
if [ -n "$until_hm" ]; then
    deadline=$(date -u -d "$until_hm" +%s)
    if [ "$deadline" -le "$(date -u +%s)" ]; then
        deadline=$((deadline + 86400))
    fi
fi

seed_dir() {
    local s="$top/tests/fuzz/corpus/${1#fuzz_}"
    if [ ! -d "$s" ]; then
        echo "run-fuzzers: missing seed corpus $s" >&2
        exit 1
    fi
    printf '%s\n' "$s"
}

# Last libFuzzer status line's "cov:" / "ft:" values from log $1.
last_field() {
    grep -aoE "$2: [0-9]+" "$1" | tail -1 | awk '{print $2}'
}

if [ $fastest -eq 1 ]; then
    echo "run-fuzzers: measuring exec/s of ${#targets[@]} targets"
    ranked=()
    for t in "${targets[@]}"; do
        name=$(basename "$t")
        seeds=$(seed_dir "$name")
        rm -rf "$work/cal" && mkdir -p "$work/cal" && cp -r "$seeds"/. "$work/cal/"
        (cd "$work" && "$t" -max_total_time=5 -timeout="$tmo" -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$out/$name-cal-" "$work/cal" \
            >"$out/$name.cal.log" 2>&1) || true
        eps=$(grep -a 'stat::average_exec_per_sec' "$out/$name.cal.log" | awk '{print $2}')
        ranked+=("${eps:-0} $t")
        echo "  $name ${eps:-0} exec/s"
    done
    mapfile -t targets < <(printf '%s\n' "${ranked[@]}" | sort -rn | awk '{print $2}')
fi

printf 'target\tstatus\texecutions\tseconds\texec_per_s\tcov\tft\tcorpus_files\tcorpus_bytes\tnew_corpus_files\n' \
    >"$out/summary.tsv"
failed=0
for t in "${targets[@]}"; do
    name=$(basename "$t")
    seeds=$(seed_dir "$name")
    budget=()
    if [ -n "$runs" ]; then
        budget+=(-runs="$runs")
    fi
    tsecs=$secs
    if [ -n "$deadline" ]; then
        left=$((deadline - $(date -u +%s)))
        if [ $left -le 10 ]; then
            echo "run-fuzzers: deadline reached, $name not run"
            printf '%s\tnot-run\t0\t0\t0\t\t\t\t\t\n' "$name" >>"$out/summary.tsv"
            continue
        fi
        if [ -z "$tsecs" ] || [ "$tsecs" -gt "$left" ]; then
            tsecs=$left
        fi
    fi
    if [ -n "$tsecs" ]; then
        budget+=(-max_total_time="$tsecs")
    fi
    rm -rf "${work:?}/$name" && mkdir -p "$work/$name"
    cp -r "$seeds"/. "$work/$name/"
    echo "fuzzing $name (${budget[*]})"
    start=$(date +%s)
    status=clean
    (cd "$work" && "$t" "${budget[@]}" -timeout="$tmo" -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$out/$name-" "$work/$name" \
        >"$out/$name.log" 2>&1) || status=finding
    took=$(( $(date +%s) - start ))
    log="$out/$name.log"
    if [ $status = finding ]; then
        failed=1
        tail -60 "$log" >&2
        echo "run-fuzzers: $name found a problem (artifacts: $out/$name-*)" >&2
        if [ $long -eq 0 ]; then
            exit 1
        fi
    fi
    execs=$(grep -a 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    eps=$(grep -a 'stat::average_exec_per_sec' "$log" | awk '{print $2}')
    cov=$(last_field "$log" cov)
    ft=$(last_field "$log" ft)
    newfiles=0
    if [ $merge -eq 1 ] && [ $status = clean ]; then
        # Inputs of the run that add edges (counters off) beyond the seeds land in
        # $work/merged; only the small ones are copied into the corpus.
        rm -rf "$work/merged" && mkdir -p "$work/merged"
        cp -r "$seeds"/. "$work/merged/"
        (cd "$work/merged" && ls -A) | sort >"$work/before"
        (cd "$work" && "$t" -merge=1 -use_counters=0 -timeout="$tmo" -rss_limit_mb=2048 \
            "$work/merged" "$work/$name" >"$out/$name.merge.log" 2>&1) || {
            echo "run-fuzzers: merge of $name failed (see $out/$name.merge.log)" >&2
            failed=1
        }
        while IFS= read -r f; do
            [ -n "$f" ] || continue
            sz=$(stat -c %s "$work/merged/$f")
            if [ "$sz" -le "$maxbytes" ]; then
                cp "$work/merged/$f" "$seeds/$f"
                newfiles=$((newfiles + 1))
            fi
        done < <(comm -13 "$work/before" <(cd "$work/merged" && ls -A | sort))
    fi
    cfiles=$(find "$seeds" -type f | wc -l)
    cbytes=$(du -sb "$seeds" | awk '{print $1}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$status" "${execs:-0}" \
        "$took" "${eps:-0}" "${cov:-}" "${ft:-}" "$cfiles" "$cbytes" "$newfiles" \
        >>"$out/summary.tsv"
    echo "  $name: $status, ${execs:-0} executions in ${took}s (${eps:-0}/s), cov ${cov:-?} ft ${ft:-?}, $newfiles new corpus files"
done
if [ $failed -ne 0 ]; then
    echo "run-fuzzers: findings or failures, see $out" >&2
    exit 1
fi
echo "run-fuzzers: ${#targets[@]} targets ran clean"
