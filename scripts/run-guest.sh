#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Boot the test guest under TCG with a test script and report its result.
#
# Options: see usage() below (scripts/run-guest.sh --help).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<'EOF'
usage: scripts/run-guest.sh [options] --test SCRIPT [-- extra QEMU args...]
  --test SCRIPT   shell script run as /test.sh in the guest (busybox sh)
  --arch A        amd64 (default: q35, ttyS0) or arm64 (Arm virt, -cpu max,
                  ttyAMA0; the guest of VI2C_GUEST_ARCH=arm64 build-guest.sh)
  --qemu BIN      QEMU binary (default $VI2C_QEMU for amd64,
                  $VI2C_QEMU_AARCH64 for arm64, else the one build-qemu.sh built)
  --timeout S     kill QEMU after S seconds (default 120)
  --log FILE      also write the serial output to FILE
  --append ARGS   extra kernel command line arguments
  --kernel FILE   kernel to boot (default: the PVH vmlinux of build-guest.sh,
                  for arm64 its raw Image)
  --machine M     machine type and options (default q35, for arm64 virt);
                  for microvm, pic=off and the clock settings below are added
  --mem MB        guest memory (default 512)
  --smp N         guest CPUs (default 1)
  --file FILE     copy FILE into the guest as /files/<name> (repeatable)

The serial output (CR and terminal escapes removed) goes to stdout.
Exit status: the test's exit status (from the guest's "RESULT: rc=N" line),
124 on timeout, 125 when the guest printed no RESULT line.
EOF
}

QEMU="" ARCH=amd64
TIMEOUT=120 LOGFILE="" TEST="" APPEND="" KERNEL="" MACHINE="" MEM=512 SMP=1
FILES=()
while [ $# -gt 0 ]; do
    case $1 in
    --test) TEST=${2:?}; shift 2 ;;
    --arch) ARCH=${2:?}; shift 2 ;;
    --qemu) QEMU=${2:?}; shift 2 ;;
    --timeout) TIMEOUT=${2:?}; shift 2 ;;
    --log) LOGFILE=${2:?}; shift 2 ;;
    --append) APPEND=${2:?}; shift 2 ;;
    --kernel) KERNEL=${2:?}; shift 2 ;;
    --machine) MACHINE=${2:?}; shift 2 ;;
    --mem) MEM=${2:?}; shift 2 ;;
    --smp) SMP=${2:?}; shift 2 ;;
    --file) FILES+=("${2:?}"); shift 2 ;;
    --) shift; break ;;
    -h | --help) usage; exit 0 ;;
    *) warn "unknown option $1"; usage >&2; exit 2 ;;
    esac
done
[ -n "$TEST" ] || { usage >&2; exit 2; }
case $ARCH in
amd64)
    GUEST=$VI2C_BUILD/guest
    QEMU=${QEMU:-${VI2C_QEMU:-$VI2C_QEMU_BLD/qemu-system-x86_64}}
    MACHINE=${MACHINE:-q35}
    ;;
arm64)
    GUEST=$VI2C_BUILD/guest-arm64
    QEMU=${QEMU:-${VI2C_QEMU_AARCH64:-$VI2C_QEMU_BLD/qemu-system-aarch64}}
    MACHINE=${MACHINE:-virt}
    ;;
*) die "--arch must be amd64 or arm64, not '$ARCH'" ;;
esac
[ -x "$QEMU" ] || die "QEMU binary $QEMU not found; run scripts/build-qemu.sh or pass --qemu"
[ -f "$GUEST/guest.env" ] || die "no $ARCH guest; run VI2C_GUEST_ARCH=$ARCH scripts/build-guest.sh first"
. "$GUEST/guest.env"
[ "${VI2C_GUEST_ARCH:-amd64}" = "$ARCH" ] || die "$GUEST/guest.env is not of $ARCH"
KERNEL=${KERNEL:-$VI2C_GUEST_KERNEL}
[ -f "$KERNEL" ] || die "kernel $KERNEL not found"
if [ "$ARCH" = amd64 ] && [ ! -f "$VI2C_FIRMWARE/qemu/bios-256k.bin" ]; then
    "$VI2C_ROOT/scripts/get-firmware.sh"
fi

mkdir -p "$VI2C_BUILD/tmp"
TMP=$(mktemp -d "$VI2C_BUILD/tmp/run.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
if [ "$ARCH" = amd64 ]; then
    "$VI2C_ROOT/scripts/make-test-initrd.sh" "$TEST" "$TMP/initrd" ${FILES[@]+"${FILES[@]}"}
else
    # As make-test-initrd.sh does for the amd64 guest: the base initramfs,
    # then a cpio with /test.sh and /files/ (the kernel unpacks both).
    [ -f "$GUEST/base.cpio.gz" ] || die "$GUEST/base.cpio.gz missing; run VI2C_GUEST_ARCH=$ARCH scripts/build-guest.sh"
    [ -f "$TEST" ] || die "test script $TEST not found"
    mkdir -p "$TMP/extra"
    install -m 755 "$TEST" "$TMP/extra/test.sh"
    if [ ${#FILES[@]} -gt 0 ]; then
        mkdir -p "$TMP/extra/files"
        for f in "${FILES[@]}"; do
            [ -f "$f" ] || die "extra file $f not found"
            cp -p "$f" "$TMP/extra/files/"
        done
    fi
    {
        cat "$GUEST/base.cpio.gz"
        (cd "$TMP/extra" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1n)
    } >"$TMP/initrd"
fi
OUT=${LOGFILE:-$TMP/serial.log}
mkdir -p "$(dirname "$OUT")"

# microvm under TCG has no HPET and no ACPI PM timer: the kernel cannot
# calibrate the TSC against anything but the PIT, which often fails under
# TCG, and then hangs calibrating its APIC timer; and the 8259 PIC, left
# unprogrammed by qboot, can deliver the PIT's first tick as vector 0 (a
# divide error) before Linux sets it up.  So: no PIC, and the clocks given:
# the TSC runs at the host's rate under TCG, QEMU's APIC timer at 1 GHz
# (4000000 ticks per jiffy at Debian's HZ=250).
case $MACHINE in
microvm | microvm,*)
    MACHINE+=",pic=off"
    khz=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Detected \([0-9]*\)\.\([0-9]*\) MHz.*/\1\2/p' | head -n1)
    [ -n "$khz" ] || khz=2000000
    APPEND="tsc_early_khz=$khz tsc=reliable lapic_timer_period=4000000${APPEND:+ $APPEND}"
    ;;
esac

# -nodefaults: no default CD-ROM (SeaBIOS would wait 32 s for it), NIC or VGA.
# Arm: -kernel boots the Image directly (no firmware); -cpu max with the
# implementation-defined pointer authentication, much cheaper under TCG
# than the architected QARMA algorithm.
case $ARCH in
amd64)
    archargs=(-L "$VI2C_FIRMWARE/qemu")
    console=ttyS0
    ;;
arm64)
    archargs=(-cpu "max,pauth-impdef=on")
    console=ttyAMA0
    ;;
esac
cmd=(
    "$QEMU" -M "$MACHINE" -accel tcg -m "$MEM" -smp "$SMP" -nodefaults -display none
    -serial stdio -no-reboot "${archargs[@]}"
    -kernel "$KERNEL" -initrd "$TMP/initrd"
    -append "console=$console panic=-1 quiet${APPEND:+ $APPEND}"
    "$@"
)
log "$(printf '%q ' "${cmd[@]}")"
t=$(date +%s.%N)
set +e
timeout -k 5 "$TIMEOUT" "${cmd[@]}" </dev/null 2>&1 |
    sed -u -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[c()][0-9A-B]\{0,1\}//g' |
    tee "$OUT"
qrc=${PIPESTATUS[0]}
set -e
wall=$(elapsed "$t")

if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
    log "timeout after $TIMEOUT s (wall $wall s)"
    exit 124
fi
result=$(grep -a -o 'RESULT: rc=[0-9]*' "$OUT" | tail -n1 || true)
if [ -z "$result" ]; then
    log "no RESULT line from the guest (QEMU exit status $qrc, wall $wall s)"
    exit 125
fi
rc=${result#RESULT: rc=}
log "guest test rc=$rc (wall $wall s)"
exit "$rc"
