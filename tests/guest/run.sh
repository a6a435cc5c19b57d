#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# End-to-end tests of the patched QEMU: runs every case of tests/guest/cases
# (NN-name.sh; NN-name.guest.sh is the /test.sh of its guest,
# NN-name.expected its exact expected report), each with a time limit, and
# prints one line per case with its wall time, then "N passed, N failed".
#
# Usage: see usage() below (tests/guest/run.sh --help).
set -uo pipefail

TESTS_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
. "$TESTS_DIR/../../scripts/lib.sh"

usage() {
    cat <<'EOF'
usage: tests/guest/run.sh [--build] [CASE...]
  --build   first run scripts/get-qemu.sh, build-qemu.sh and build-guest.sh
            (each does nothing when it is up to date)
  CASE      run only the cases whose names contain CASE (e.g. hotplug)
Env:   VI2C_QEMU_SERIES   QEMU series (10.0 by default, or 10.2)
       VI2C_QEMU          QEMU binary (default: the one build-qemu.sh built)
       VI2C_TEST_TIMEOUT  seconds per case (default 600)
Logs:  build/logs/guest-tests-<series>/<case>/ and <case>.log, summary.txt
Exit status: 0 when every case passed.
EOF
}

build=0
filters=()
for a in "$@"; do
    case $a in
    --build) build=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $a (see --help)" ;;
    *) filters+=("$a") ;;
    esac
done

if [ "$build" = 1 ]; then
    for s in get-qemu.sh build-qemu.sh build-guest.sh; do
        log "running scripts/$s"
        "$VI2C_ROOT/scripts/$s" || die "scripts/$s failed"
    done
fi

LOGROOT=$VI2C_BUILD/logs/guest-tests-$VI2C_QEMU_SERIES
mkdir -p "$LOGROOT"
export VI2C_TEST_LOGDIR=$LOGROOT
TIMEOUT=${VI2C_TEST_TIMEOUT:-600}

cases=()
for f in "$TESTS_DIR"/cases/[0-9][0-9]-*.sh; do
    case $f in *.guest.sh) continue ;; esac
    name=$(basename "$f" .sh)
    if [ ${#filters[@]} -gt 0 ]; then
        keep=0
        for p in "${filters[@]}"; do
            case $name in *"$p"*) keep=1 ;; esac
        done
        [ "$keep" = 1 ] || continue
    fi
    cases+=("$f")
done
[ ${#cases[@]} -gt 0 ] || die "no test case matches: ${filters[*]}"

passed=0 failed=0
summary=$LOGROOT/summary.txt
: >"$summary"
for f in "${cases[@]}"; do
    name=$(basename "$f" .sh)
    clog=$LOGROOT/$name.log
    t=$(date +%s.%N)
    timeout -k 10 "$TIMEOUT" bash "$f" >"$clog" 2>&1 </dev/null
    rc=$?
    wall=$(elapsed "$t")
    if [ "$rc" = 0 ]; then
        passed=$((passed + 1))
        line=$(printf 'PASS  %-22s %6s s' "$name" "$wall")
    else
        failed=$((failed + 1))
        why="exit status $rc"
        [ "$rc" = 124 ] && why="timed out after $TIMEOUT s"
        line=$(printf 'FAIL  %-22s %6s s  (%s; log: %s)' "$name" "$wall" "$why" "${clog#"$VI2C_ROOT"/}")
    fi
    echo "$line"
    echo "$line" >>"$summary"
    if [ "$rc" != 0 ]; then
        # The reason, as the case printed it.
        grep -E 'FAIL|^[-+@]' "$clog" | head -n 40 | sed 's/^/      /'
    fi
done
echo "$passed passed, $failed failed" | tee -a "$summary"
[ "$failed" = 0 ]
