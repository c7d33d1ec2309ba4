#!/usr/bin/env bash
# Runs each atheris harness in tests/fuzz/ against the sanitizer build (ASan + UBSan).
#
#   scripts/fuzz.sh [SECONDS_PER_HARNESS] [HARNESS...]
#
#   SECONDS_PER_HARNESS   default 60 (CI uses 30 through scripts/ci-robustness.sh);
#                         for a longer campaign: scripts/fuzz.sh $((30*60))
#   HARNESS               table csv groupby arrow (default: all of them)
#
# Environment: TS_SAN_VENV (default /tmp/ts-sanitize-venv) is made by the same
# function as scripts/check-sanitizers.sh uses, and reused when it is already there
# (TS_SAN_REBUILD=1 to rebuild); TS_FUZZ_DIR (default /tmp/ts-fuzz) holds each
# harness's growing corpus and any crash, timeout or leak artifacts; TS_FUZZ_JOBS=2
# runs two harnesses at a time.
#
# Seeds: fuzz_csv starts from the CSV test corpus (tests/data/csv/*.csv, each with the
# 12-byte all-defaults options trailer appended); every harness also replays the inputs
# in tests/fuzz/regressions/ that once crashed it.  libFuzzer stops a harness at its
# first finding and writes the input to TS_FUZZ_DIR/NAME/; turn it into a regression
# test before fixing it (see tests/fuzz/README.md).
#
# Prints, per harness, the number of executions and the outcome; exits 1 if any harness
# found something (a crash, a sanitizer report, an uncaught exception, a timeout).
set -euo pipefail
source "$(dirname "$0")/sanitizer-env.sh"

SECS=${1:-60}
shift || true
HARNESSES=("$@")
[[ ${#HARNESSES[@]} -gt 0 ]] || HARNESSES=(table csv groupby arrow)
VENV=${TS_SAN_VENV:-/tmp/ts-sanitize-venv}
OUT=${TS_FUZZ_DIR:-/tmp/ts-fuzz}
JOBS=${TS_FUZZ_JOBS:-1}

ts_san_venv "$VENV"
mkdir -p "$OUT"

# The CSV seed corpus: the test corpus with the all-defaults options trailer.
mkdir -p "$OUT/csv-seed"
for f in "$TS_ROOT"/tests/data/csv/*.csv; do
    { cat "$f"; head -c 12 /dev/zero; } > "$OUT/csv-seed/$(basename "$f")"
done

run_one() {
    local name=$1 dir="$OUT/$1" log="$OUT/$1.log" seeds=()
    mkdir -p "$dir/corpus" "$dir/regressions"
    # inputs that once failed this harness are replayed first
    for f in "$TS_ROOT"/tests/fuzz/regressions/"$name"-*; do
        [[ -e $f ]] && cp "$f" "$dir/regressions/"
    done
    seeds+=("$dir/regressions")
    [[ $name == csv ]] && seeds+=("$OUT/csv-seed")
    local rc=0
    (
        ts_san_env "$dir/sanitizer"
        cd "$dir"
        # -detect_leaks=0: libFuzzer's per-input leak check counts the interpreter's
        # caches; leaks are checked by check-sanitizers.sh's LeakSanitizer pass.
        # -rss_limit_mb: ASan's shadow memory and quarantine need room.
        exec "$VENV/bin/python" "$TS_ROOT/tests/fuzz/fuzz_$name.py" \
            -max_total_time="$SECS" -timeout=20 -rss_limit_mb=6144 -detect_leaks=0 \
            -artifact_prefix="$dir/" -print_final_stats=1 \
            "$dir/corpus" "${seeds[@]}"
    ) > "$log" 2>&1 || rc=$?
    local execs
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    [[ -n $execs ]] || execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#' || true)
    local artifacts
    artifacts=$(ls "$dir"/crash-* "$dir"/timeout-* "$dir"/leak-* "$dir"/oom-* 2>/dev/null || true)
    if [[ $rc -ne 0 || -n $artifacts ]] || ! ts_san_reports "$dir/sanitizer" >/dev/null; then
        echo "fuzz_$name: FINDING after ${execs:-?} executions in ${SECS} s (exit $rc); log $log"
        grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse)|^INFO|^WARNING' "$log" | tail -40
        ts_san_reports "$dir/sanitizer" || true
        [[ -z $artifacts ]] || echo "artifacts: $artifacts"
        return 1
    fi
    echo "fuzz_$name: ${execs:-?} executions in ${SECS} s, no finding"
}

status=0
if [[ $JOBS -gt 1 ]]; then
    pids=()
    for h in "${HARNESSES[@]}"; do
        while [[ $(jobs -rp | wc -l) -ge $JOBS ]]; do wait -n || status=1; done
        run_one "$h" & pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || status=1; done
else
    for h in "${HARNESSES[@]}"; do
        run_one "$h" || status=1
    done
fi
exit $status
