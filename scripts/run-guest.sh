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
  --qemu BIN      QEMU binary (default $VI2C_QEMU, else the one build-qemu.sh built)
  --timeout S     kill QEMU after S seconds (default 120)
  --log FILE      also write the serial output to FILE
  --append ARGS   extra kernel command line arguments
  --kernel FILE   kernel to boot (default: the PVH vmlinux of build-guest.sh)
  --machine M     machine type and options (default q35); for microvm,
                  pic=off and the clock settings below are added
  --mem MB        guest memory (default 512)
  --smp N         guest CPUs (default 1)
  --file FILE     copy FILE into the guest as /files/<name> (repeatable)

The serial output (CR and terminal escapes removed) goes to stdout.
Exit status: the test's exit status (from the guest's "RESULT: rc=N" line),
124 on timeout, 125 when the guest printed no RESULT line.
EOF
}

QEMU=${VI2C_QEMU:-$VI2C_QEMU_BLD/qemu-system-x86_64}
TIMEOUT=120 LOGFILE="" TEST="" APPEND="" KERNEL="" MACHINE=q35 MEM=512 SMP=1
FILES=()
while [ $# -gt 0 ]; do
    case $1 in
    --test) TEST=${2:?}; shift 2 ;;
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
[ -x "$QEMU" ] || die "QEMU binary $QEMU not found; run scripts/build-qemu.sh or pass --qemu"
[ -f "$VI2C_BUILD/guest/guest.env" ] || die "no guest; run scripts/build-guest.sh first"
. "$VI2C_BUILD/guest/guest.env"
KERNEL=${KERNEL:-$VI2C_GUEST_KERNEL}
[ -f "$KERNEL" ] || die "kernel $KERNEL not found"
[ -f "$VI2C_FIRMWARE/qemu/bios-256k.bin" ] || "$VI2C_ROOT/scripts/get-firmware.sh"

mkdir -p "$VI2C_BUILD/tmp"
TMP=$(mktemp -d "$VI2C_BUILD/tmp/run.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
"$VI2C_ROOT/scripts/make-test-initrd.sh" "$TEST" "$TMP/initrd" ${FILES[@]+"${FILES[@]}"}
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
cmd=(
    "$QEMU" -M "$MACHINE" -accel tcg -m "$MEM" -smp "$SMP" -nodefaults -display none
    -serial stdio -no-reboot -L "$VI2C_FIRMWARE/qemu"
    -kernel "$KERNEL" -initrd "$TMP/initrd"
    -append "console=ttyS0 panic=-1 quiet${APPEND:+ $APPEND}"
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
