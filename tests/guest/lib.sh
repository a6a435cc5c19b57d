# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Helpers for the guest end-to-end test cases (tests/guest/cases/*.sh).
# Source it from a case:  . "$(dirname "$0")/../lib.sh"
#
# Provides: TESTS_DIR, CASES_DIR, CASE (the case's name), QEMU, FIRMWARE,
# LOGDIR (build/logs/guest-tests-<series>/<case>, emptied), fail, note,
# guest_section, compare, qemu_plain.

set -euo pipefail

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034  # used by the cases
CASES_DIR=$TESTS_DIR/cases
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
. "$TESTS_DIR/../../scripts/lib.sh"

CASE=$(basename "$0" .sh)
QEMU=${VI2C_QEMU:-$VI2C_QEMU_BLD/qemu-system-x86_64}
FIRMWARE=$VI2C_FIRMWARE/qemu
LOGDIR=${VI2C_TEST_LOGDIR:-$VI2C_BUILD/logs/guest-tests-$VI2C_QEMU_SERIES}/$CASE
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"

fail() {
    printf '%s: FAIL: %s\n' "$CASE" "$*" >&2
    exit 1
}

note() { printf '%s: %s\n' "$CASE" "$*" >&2; }

[ -x "$QEMU" ] || fail "QEMU binary $QEMU not found (scripts/get-qemu.sh && scripts/build-qemu.sh, or set VI2C_QEMU)"
if [ ! -f "$FIRMWARE/bios-256k.bin" ]; then
    "$VI2C_ROOT/scripts/get-firmware.sh" >&2 || fail "cannot get the firmware (scripts/get-firmware.sh)"
fi

# guest_section SERIAL_LOG: the guest's report, i.e. the lines from
# "--- begin" to "--- end", without trailing blanks (i2cdetect pads its rows)
# and without kernel messages that the console interleaves.
guest_section() {
    sed -n '/^--- begin$/,/^--- end$/p' "$1" |
        sed -e 's/[[:space:]]*$//' -e '/^\[ *[0-9]*\.[0-9]*\] /d'
}

# compare EXPECTED ACTUAL: exact comparison; the diff goes to stderr and to
# $LOGDIR/diff.
compare() {
    if ! diff -u "$1" "$2" >"$LOGDIR/diff"; then
        cat "$LOGDIR/diff" >&2
        fail "output differs from ${1#"$VI2C_ROOT"/} (diff in $LOGDIR/diff)"
    fi
}

# qemu_plain ARGS...: QEMU on q35 without a guest (paused, no display).
qemu_plain() {
    timeout -k 5 60 "$QEMU" -M q35 -accel tcg -nodefaults -display none -S -L "$FIRMWARE" "$@"
}

# The arm64 guest cases (9x-*): qemu-system-aarch64 of the same build
# (VI2C_QEMU_AARCH64 overrides it), and the arm64 guest, built here when
# it is missing or stale (VI2C_GUEST_ARCH=arm64 scripts/build-guest.sh:
# a few seconds when it is up to date).
QEMU_AARCH64=${VI2C_QEMU_AARCH64:-$VI2C_QEMU_BLD/qemu-system-aarch64}
need_arm64() {
    [ -x "$QEMU_AARCH64" ] ||
        fail "QEMU binary $QEMU_AARCH64 not found (scripts/build-qemu.sh builds it unless VI2C_QEMU_TARGETS leaves aarch64 out; or set VI2C_QEMU_AARCH64)"
    VI2C_GUEST_ARCH=arm64 "$VI2C_ROOT/scripts/build-guest.sh" >"$LOGDIR/build-guest-arm64.log" 2>&1 ||
        fail "cannot build the arm64 guest (log: $LOGDIR/build-guest-arm64.log)"
}
