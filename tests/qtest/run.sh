#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# QEMU's own I2C qtests, and ours, on the patched QEMU: qemu-system-x86_64
# and qemu-system-aarch64 of the same build directory.
#
# x86_64 has no I2C controller in libqos, so upstream the I2C device tests
# of qos-test (tmp105, ds1338, pca9552, emc141x, adm1272, adm1266, max34451,
# isl_pmbus_vr, lsm303dlhc-mag, rs5c372) never run on x86.  The qtest
# patch of qemu-patches adds a libqos driver, tests/qtest/libqos/virtio-i2c-rust.c,
# that makes virtio-i2c-rust-pci's emulated bus an "i2c-bus" of the qos graph:
#
#   /x86_64/pc/i440FX-pcihost/pci-bus-pc/pci-bus/virtio-i2c-rust-pci/
#       virtio-i2c-rust-device/i2c-bus/<device>/<device>-tests/<test>
#
# and tests/qtest/virtio-i2c-rust-test.c, which drives the request queue
# directly: groups with repeated STARTs (the hw/i2c/core.c fix of patch
# 0001), absent addresses, malformed and zero-length requests, features.
#
# On aarch64 (qemu-system-aarch64, scripts/qemu-devices/aarch64.mak), the
# I2C qtests that QEMU builds for that target:
#   qos-test           the same device tests through virtio-i2c-rust-pci
#                      on Arm's virt machine, behind its generic PCIe host:
#                      /aarch64/virt/generic-pcihost/pci-bus-generic/
#                      pci-bus/virtio-i2c-rust-pci/.../i2c-bus/<device>/...
#   tpm-tis-i2c-test   a TPM on the I2C bus of the aspeed AST2600 I2C
#                      controller (rainier-bmc), through hw/i2c/core.c:
#                      every register read is a write of the register
#                      number and a repeated START to read it
#   bcm2835-i2c-test   the Raspberry Pi's BCM2835 I2C controllers
#                      (raspi3b), a TMP105 on each
# QEMU 10.0 and 10.2 have no other I2C qtest for aarch64: the aspeed qtests
# (aspeed_smc, aspeed_gpio, ast2700-*) do not touch I2C, qos-test's i.MX
# and OMAP I2C drivers belong to 32-bit arm machines (qemu-system-arm),
# and virtio-i2c-rust-test is written for x86's pc machine.
#
# This script builds the qtest binaries in the QEMU build directory (ninja
# -C build/qemu-<series>/build tests/qtest/<binary>..., plus the
# qemu-system-* binaries so that they match), lists the test paths
# (qos-test: those under virtio-i2c-rust-pci) and runs each path in a
# process of its own with QTEST_QEMU_BINARY set to
# build/qemu-<series>/build/qemu-system-<arch> (through a wrapper that adds
# -L build/firmware/qemu, for the pc machine's BIOS), so that a failed
# assertion costs one path only.  It prints each path with its result and
# time, then "N passed, N failed, N skipped".  Every path this script
# selects is expected to run: a path that glib reports as skipped
# ("ok N <path> # SKIP ...", g_test_skip) is counted as skipped, not passed,
# and fails the run.
#
# Usage: see usage() below (tests/qtest/run.sh --help).
#
# Without patch 0001, /x86_64/virtio-i2c-rust/restart/other-address and
# /x86_64/virtio-i2c-rust/group/absent-address fail: build a QEMU from the
# series without 0001 and run VI2C_QEMU=<it> tests/qtest/run.sh
# /x86_64/virtio-i2c-rust/ (the test binaries do not depend on 0001).
#
# The build directory must be configured with the qtests, which QEMU does
# by default for system emulators; scripts/build-qemu.sh does not turn them
# off (no --disable-* of its drops tests/qtest).
set -uo pipefail

TESTS_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib.sh
. "$TESTS_DIR/../../scripts/lib.sh"

usage() {
    cat <<'EOF'
usage: tests/qtest/run.sh [--build] [FILTER...]
  --build   first run scripts/get-qemu.sh and scripts/build-qemu.sh
  FILTER    run only the test paths that contain FILTER (e.g. tmp105)
Env:   VI2C_QEMU          x86_64 QEMU binary to test (default: the build's
                          qemu-system-x86_64, rebuilt first if needed)
       VI2C_QEMU_AARCH64  the same for aarch64 (qemu-system-aarch64)
       VI2C_QTEST_ARCHS   the targets to test, of "x86_64 aarch64" (the
                          default; "x86_64" for a build without aarch64)
       VI2C_QEMU_SERIES   QEMU series (10.0 by default, or 10.2)
       VI2C_QTEST_BUILD   QEMU build directory (default
                          build/qemu-<series>/build; when set, the
                          build locks are not taken)
       VI2C_QTEST_TIMEOUT seconds per test path (default 300)
Logs:  build/logs/qtest-<series>/<binary>/<path>.log, .../summary.txt
       (the paths begin with the target: /x86_64/..., /aarch64/...)
Exit status: 0 when every path passed (and there were paths to run); a
skipped path ("# SKIP" in its TAP line) is counted apart and fails the run,
since every selected path is expected to run.
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
    for s in get-qemu.sh build-qemu.sh; do
        log "running scripts/$s"
        "$VI2C_ROOT/scripts/$s" || die "scripts/$s failed"
    done
fi

BLD=${VI2C_QTEST_BUILD:-$VI2C_QEMU_BLD}
read -r -a ARCHS <<<"${VI2C_QTEST_ARCHS:-x86_64 aarch64}"
[ ${#ARCHS[@]} -gt 0 ] || die "VI2C_QTEST_ARCHS is empty"
declare -A QEMU_OF BINARIES_OF
for a in "${ARCHS[@]}"; do
    case $a in
    x86_64)
        QEMU_OF[$a]=${VI2C_QEMU:-$BLD/qemu-system-x86_64}
        BINARIES_OF[$a]="qos-test virtio-i2c-rust-test"
        ;;
    aarch64)
        QEMU_OF[$a]=${VI2C_QEMU_AARCH64:-$BLD/qemu-system-aarch64}
        BINARIES_OF[$a]="qos-test tpm-tis-i2c-test bcm2835-i2c-test"
        ;;
    *) die "VI2C_QTEST_ARCHS: unknown target '$a' (known: x86_64 aarch64)" ;;
    esac
done
TIMEOUT=${VI2C_QTEST_TIMEOUT:-300}
LOGS=$VI2C_BUILD/logs/qtest-$VI2C_QEMU_SERIES
QOS_NODE=virtio-i2c-rust-pci
# The I2C targets whose qos-test tests must run through our adapter (the
# node names of tests/qtest/*-test.c that consume "i2c-bus").
I2C_NODES=(tmp105 ds1338 pca9552 emc1414 adm1272 adm1266 max34451 isl69260
    raa228000 raa229004 lsm303dlhc_mag rs5c372)

need_cmd ninja timeout
[ -f "$BLD/build.ninja" ] ||
    die "no QEMU build in $BLD; run scripts/get-qemu.sh and scripts/build-qemu.sh (or $0 --build)"

# --- build ---------------------------------------------------------------------
# Same locks as get-qemu.sh and build-qemu.sh: ninja may re-run meson, which
# reads the source tree.  Held until the tests are done, so that the binaries
# do not change under them.
if [ -z "${VI2C_QTEST_BUILD:-}" ]; then
    vi2c_lock "qemu-$VI2C_QEMU_SERIES-src"
    vi2c_lock "qemu-$VI2C_QEMU_SERIES-build"
fi
targets=()
for a in "${ARCHS[@]}"; do
    for b in ${BINARIES_OF[$a]}; do
        case " ${targets[*]} " in *" tests/qtest/$b "*) ;; *) targets+=("tests/qtest/$b") ;; esac
    done
    case $a in
    x86_64) [ -n "${VI2C_QEMU:-}" ] || targets+=(qemu-system-x86_64) ;;
    aarch64) [ -n "${VI2C_QEMU_AARCH64:-}" ] || targets+=(qemu-system-aarch64) ;;
    esac
done
mkdir -p "$LOGS"
# Re-run meson first if the tree changed (e.g. get-qemu.sh added a patch).
ninja -C "$BLD" build.ninja >"$LOGS/build.log" 2>&1 ||
    die "cannot regenerate $BLD/build.ninja (log: $LOGS/build.log)"
known=$(ninja -C "$BLD" -t targets all 2>/dev/null | sed -n 's/: .*//p')
for t in "${targets[@]}"; do
    if ! grep -qxF "$t" <<<"$known"; then
        case $t in
        tests/qtest/virtio-i2c-rust-test)
            die "$BLD has no target $t: the tree lacks the qtest patch of qemu-patches or the build lacks CONFIG_VIRTIO_I2C_RUST, CONFIG_I440FX, CONFIG_AT24C or CONFIG_TMP105 (run scripts/get-qemu.sh and scripts/build-qemu.sh)" ;;
        tests/qtest/tpm-tis-i2c-test | tests/qtest/bcm2835-i2c-test)
            die "$BLD has no target $t: the build lacks the aarch64 target or its CONFIG_TPM_TIS_I2C (configure --enable-tpm) or CONFIG_RASPI (scripts/build-qemu.sh builds them; VI2C_QTEST_ARCHS=x86_64 tests x86_64 alone)" ;;
        qemu-system-aarch64)
            die "$BLD has no target $t: it was configured without aarch64 (VI2C_QEMU_TARGETS); VI2C_QTEST_ARCHS=x86_64 tests x86_64 alone" ;;
        tests/qtest/*)
            die "$BLD has no target $t: the qtests are not configured there (they need a system emulator; do not configure with a --disable-* that drops tests/qtest)" ;;
        *) die "$BLD has no target $t" ;;
        esac
    fi
done
log "building ${targets[*]} in $BLD"
t0=$(date +%s.%N)
if ! ninja -C "$BLD" "${targets[@]}" >>"$LOGS/build.log" 2>&1; then
    grep -v '^\[[0-9]*/[0-9]*\] ' "$LOGS/build.log" | tail -n 60 >&2
    die "build failed (full log: $LOGS/build.log)"
fi
steps=$(grep -c '^\[[0-9]*/[0-9]*\] ' "$LOGS/build.log" || true)
log "ninja: $steps steps in $(elapsed "$t0") s"
for a in "${ARCHS[@]}"; do
    QEMU=${QEMU_OF[$a]}
    [ -x "$QEMU" ] || die "$QEMU is not an executable"
    "$QEMU" -nodefaults -machine none -device help 2>/dev/null | grep "\"$QOS_NODE\"" >/dev/null ||
        die "$QEMU has no $QOS_NODE device"
done

# The +ds source has no firmware blobs, and the pc machine needs a BIOS:
# the one of get-firmware.sh.  libqtest has no variable for extra QEMU
# arguments, so QTEST_QEMU_BINARY is a wrapper that adds -L; its name tells
# libqtest the target (qtest_get_arch).  (The Arm machines of these tests
# need no firmware; the wrapper is the same.)
FW=$VI2C_FIRMWARE/qemu
if [ ! -f "$FW/bios-256k.bin" ]; then
    log "no firmware in $FW: running scripts/get-firmware.sh"
    "$VI2C_ROOT/scripts/get-firmware.sh" || die "scripts/get-firmware.sh failed"
fi
declare -A WRAPPER_OF
for a in "${ARCHS[@]}"; do
    QEMU=${QEMU_OF[$a]}
    WRAPPER=$VI2C_BUILD/qtest-bin/qemu-system-$a
    mkdir -p "${WRAPPER%/*}"
    printf '#!/bin/sh\n# Generated by tests/qtest/run.sh: the QEMU under test, with its firmware.\nexec "%s" -L "%s" "$@"\n' \
        "$QEMU" "$FW" >"$WRAPPER.new"
    chmod 755 "$WRAPPER.new"
    mv -f "$WRAPPER.new" "$WRAPPER"
    WRAPPER_OF[$a]=$WRAPPER
    log "$a: QTEST_QEMU_BINARY=$WRAPPER (exec $QEMU -L $FW)"
done

# --- list ----------------------------------------------------------------------
# list BINARY ARCH: the test paths to run, one a line (with
# QTEST_QEMU_BINARY set: some binaries start QEMU before they list).
list() {
    local bin=$BLD/tests/qtest/$1 out
    out=$("$bin" -l 2>"$LOGS/$1.$2.list.log") || {
        cat "$LOGS/$1.$2.list.log" >&2
        return 1
    }
    if [ "$1" = qos-test ]; then
        grep -E "^/.*/$QOS_NODE/" <<<"$out"
    else
        grep -E '^/' <<<"$out"
    fi
}

selected() {
    local f
    [ ${#filters[@]} -eq 0 ] && return 0
    for f in "${filters[@]}"; do
        [[ $1 == *"$f"* ]] && return 0
    done
    return 1
}

for a in "${ARCHS[@]}"; do
    for b in ${BINARIES_OF[$a]}; do rm -rf "${LOGS:?}/$b" "$LOGS/$b.list.log" "$LOGS/$b.$a.list.log"; done
done
passed=0 failed=0 skipped=0
summary=()

# result LOG PATH RC: PASS, SKIP or FAIL for one path run alone.  PASS needs
# exit status 0, an "ok N PATH" TAP line that is not a "# SKIP" and no
# "not ok" line; SKIP is such a run whose "ok" line says "# SKIP".
result() {
    local okline
    okline=$(awk -v p="$2" '$1 == "ok" && $3 == p' "$1" | tail -n1)
    if [ "$3" -ne 0 ] || [ -z "$okline" ] || grep -qE '^not ok ' "$1"; then
        echo FAIL
    elif grep -qiE '^ok [0-9]+ [^ ]+ +# *skip' <<<"$okline"; then
        echo SKIP
    else
        echo PASS
    fi
}
missing=()
for a in "${ARCHS[@]}"; do
    export QTEST_QEMU_BINARY=${WRAPPER_OF[$a]}
    for b in ${BINARIES_OF[$a]}; do
        paths=$(list "$b" "$a") || die "$b -l failed with qemu-system-$a (log: $LOGS/$b.$a.list.log)"
        if [ -z "$paths" ]; then
            missing+=("$b ($a): no test paths")
            continue
        fi
        if [ "$b" = qos-test ] && [ ${#filters[@]} -eq 0 ]; then
            # Every I2C device test must have found our adapter; a device left
            # out of the build makes qos-test skip its tests without a word.
            for n in "${I2C_NODES[@]}"; do
                grep -q "/i2c-bus/$n/" <<<"$paths" ||
                    missing+=("qos-test ($a): no path through i2c-bus/$n (is its CONFIG_ in scripts/qemu-devices/$a.mak?)")
            done
        fi
        mkdir -p "$LOGS/$b"
        # --- run -------------------------------------------------------------------
        while read -r p; do
            selected "$p" || continue
            log_file=$LOGS/$b/$(sed 's#^/##; s#/#_#g' <<<"$p").log
            t1=$(date +%s.%N)
            # A group, so that bash's "Aborted" (a failed assertion) goes to the log.
            { timeout -k 10 "$TIMEOUT" "$BLD/tests/qtest/$b" --tap -k -p "$p"; } >"$log_file" 2>&1
            rc=$?
            t=$(elapsed "$t1")
            # The path must have run and passed: "ok N <path>" in the TAP output.
            r=$(result "$log_file" "$p" "$rc")
            case $r in
            PASS) passed=$((passed + 1)) ;;
            SKIP) skipped=$((skipped + 1)) ;;
            *)
                failed=$((failed + 1))
                [ $rc -eq 124 ] && r="FAIL (timeout ${TIMEOUT}s)"
                ;;
            esac
            line=$(printf '%-4s %6ss  %s %s' "${r%% *}" "$t" "$b" "$p")
            summary+=("$line")
            printf '%s\n' "$line"
            if [ "$r" != PASS ]; then
                grep -vE '^ok |^# (Start of|End of|starting QEMU|random seed)|warning: Default (NIC|display)' "$log_file" |
                    tail -n 20 | sed 's/^/    /'
                printf '    (log: %s)\n' "$log_file"
            fi
        done <<<"$paths"
    done
done

for m in "${missing[@]}"; do
    printf 'FAIL %s\n' "$m"
    summary+=("FAIL $m")
    failed=$((failed + 1))
done
{
    printf '%s\n' "${summary[@]}"
    printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
} >"$LOGS/summary.txt"
[ "$skipped" -eq 0 ] || printf 'FAIL %d selected path(s) skipped instead of running (the SKIP lines above)\n' "$skipped"
printf '%d passed, %d failed, %d skipped (%ss; logs: %s)\n' "$passed" "$failed" "$skipped" "$(elapsed)" "$LOGS"
[ "$failed" -eq 0 ] && [ "$skipped" -eq 0 ] && [ "$passed" -gt 0 ]
