# shellcheck shell=bash
# Shared by scripts/check-sanitizers.sh, scripts/fuzz.sh and scripts/ci-robustness.sh
# (source it; it defines functions and variables, runs nothing).
#
#   ts_san_venv DIR   creates (or reuses, when DIR/.ts-sanitize-ok exists) a venv at DIR
#                     holding a TRAFFICKSTATS_SANITIZE=1 build of this checkout and the
#                     test and fuzzing dependencies.
#   ts_san_env LOGDIR [leaks]  exports the environment under which Python runs the
#                     sanitizer build: ASan runtime preloaded, PYTHONMALLOC=malloc,
#                     UBSan halting, ASan/LSan reports written to LOGDIR; "leaks" turns
#                     on LeakSanitizer with scripts/lsan.supp.
#   ts_san_reports LOGDIR  prints the ASan/LSan reports in LOGDIR; returns 1 if there
#                     are any.
#
# What gets installed: only PyPI packages into the venv: the package's [test] extra
# (pytest, hypothesis, pandas, pyarrow, polars, duckdb), numpy, setuptools, wheel,
# statsmodels, and atheris, which ships manylinux wheels with libFuzzer built in, so no
# clang is needed.  The extension is compiled
# with the system gcc, whose ASan/UBSan runtimes (libasan, libubsan) come with gcc.

TS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TS_PYTHON=${PYTHON:-python3}
TS_CC=${CC:-gcc}
# Test and fuzz dependencies of the sanitizer venv.
TS_SAN_PACKAGES=(numpy "setuptools>=77" wheel statsmodels atheris)

ts_san_venv() {
    local venv=$1
    if [[ -f $venv/.ts-sanitize-ok && ${TS_SAN_REBUILD:-0} != 1 ]]; then
        echo "sanitizer venv: reusing $venv"
        return 0
    fi
    rm -rf "$venv"
    "$TS_PYTHON" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "${TS_SAN_PACKAGES[@]}" 2>&1 | { grep -v "^WARNING: Location" || true; }
    # Build from a copy of the checkout so that a build/ directory of a normal build
    # is neither reused nor disturbed.
    local src
    src=$(mktemp -d /tmp/ts-sanitize-src.XXXXXX)
    if git -C "$TS_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
        (cd "$TS_ROOT" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -C "$src" -xf -
    else
        cp -r "$TS_ROOT/." "$src" && rm -rf "$src/build"
    fi
    TRAFFICKSTATS_SANITIZE=1 TRAFFICKSTATS_WERROR=1 \
        "$venv/bin/pip" install -q --disable-pip-version-check --no-build-isolation "$src[test]" 2>&1 \
        | { grep -v "^WARNING: Location" || true; }
    rm -rf "$src"
    local so
    so=$(ls "$venv"/lib/python3*/site-packages/traffickstats/_core*.so)
    if ! ldd "$so" | grep -q libasan; then
        echo "error: $so is not linked against libasan: the sanitizer build did not happen" >&2
        return 1
    fi
    touch "$venv/.ts-sanitize-ok"
}

ts_san_env() {
    # ts_san_env LOGDIR [leaks]
    #   without "leaks": ASan + UBSan with the fast unwinder, no leak checking (the
    #   whole test suite runs like this: every test, at about 3x the normal time);
    #   with "leaks": LeakSanitizer on, every malloc unwound with the slow DWARF
    #   unwinder (CPython has no frame pointers, and scripts/lsan.supp needs the
    #   frames above libpython to tell the interpreter's allocations from ours),
    #   about 10x slower again, so it runs on the tests that drive every C entry point.
    local logdir=$1 mode=${2:-}
    mkdir -p "$logdir"
    # libstdc++ is preloaded too: C++ extensions in the test dependencies (pyarrow,
    # duckdb) throw exceptions, and ASan's __cxa_throw interceptor aborts ("CHECK
    # failed: real___cxa_throw != 0") unless libstdc++ is loaded when ASan starts.
    LD_PRELOAD="$("$TS_CC" -print-file-name=libasan.so) $("$TS_CC" -print-file-name=libstdc++.so.6)"
    export LD_PRELOAD
    export PYTHONMALLOC=malloc
    # allocator_may_return_null: a huge request becomes MemoryError, as without ASan.
    local common="allocator_may_return_null=1:halt_on_error=1:log_path=$logdir/asan"
    if [[ $mode == leaks ]]; then
        export ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:malloc_context_size=16:$common"
    else
        export ASAN_OPTIONS="detect_leaks=0:$common"
    fi
    export LSAN_OPTIONS="suppressions=$TS_ROOT/scripts/lsan.supp:print_suppressions=0"
    # gcc's UBSan runtime ignores log_path: its reports go to stderr (run pytest with
    # --capture=sys so that they are not swallowed) and halt the process, which fails
    # the run through the exit status.
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
    export HYPOTHESIS_PROFILE=ci
    # tests/robustness/test_leaks.py: fewer repetitions, LeakSanitizer sees every allocation here.
    export TRAFFICKSTATS_LEAK_CALLS=${TRAFFICKSTATS_LEAK_CALLS:-300}
    # ...and no RSS comparison: ASan's quarantine keeps freed memory resident.
    export TRAFFICKSTATS_LEAK_RSS=0
}

ts_san_reports() {
    local logdir=$1 found=0 f
    for f in "$logdir"/asan.*; do
        [[ -e $f ]] || continue
        found=1
        echo "==== sanitizer report $f"
        cat "$f"
    done
    return $found
}
