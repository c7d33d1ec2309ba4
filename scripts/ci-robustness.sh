#!/usr/bin/env bash
# The robustness part of CI (called by .ci/run): the test suite under ASan + UBSan with
# a LeakSanitizer pass (scripts/check-sanitizers.sh), then every fuzz harness for 30
# seconds against the same sanitizer build (scripts/fuzz.sh), two at a time.  Fails on
# any sanitizer report, test failure or fuzzing finding.
#
#   scripts/ci-robustness.sh
#
# Environment: TS_FUZZ_SECONDS (default 30), TS_SAN_VENV (default: a fresh venv in a
# temporary folder, removed at the end).  Needs python3, gcc and PyPI (or a warm pip
# cache); installs nothing outside its venv.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
start=$SECONDS

work=$(mktemp -d /tmp/ts-robustness.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TS_SAN_VENV=${TS_SAN_VENV:-$work/venv}
export TS_FUZZ_DIR=$work/fuzz

status=0
echo "== sanitizers: test suite under ASan + UBSan, LeakSanitizer pass"
bash "$here/check-sanitizers.sh" || status=1
echo "== fuzzing: each harness ${TS_FUZZ_SECONDS:-30} s under the sanitizer build"
TS_SAN_REUSE=1 TS_FUZZ_JOBS=2 bash "$here/fuzz.sh" "${TS_FUZZ_SECONDS:-30}" || status=1
echo "== robustness: $([[ $status == 0 ]] && echo passed || echo FAILED) in $((SECONDS - start)) s"
exit $status
