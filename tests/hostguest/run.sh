#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Host side for real, in a guest, and the nested chain (test pyramid
# level 6 of the design notes).
#
# One TCG boot of a host guest "L1" (q35) with the patched QEMU.  L1 is a
# real Linux host with three real i2c-dev adapters: i2c-i801 on the ICH9
# SMBus (SMBus-only; SPD EEPROMs at 0x50-0x57, a read-only at24c at 0x5c),
# i2c-virtio on a virtio-i2c-rust-pci emulated bus (full I2C, the project's
# own bus; at24cs at 0x50 and 0x52 (read-only), a tmp105 at 0x48), and the
# kernel's i2c-stub (SMBus-only, loaded in L1: an adapter independent of
# QEMU and of this project).  The two read-only at24cs are backed by image
# files of random bytes made here for each run, so L1 and L2 read values
# that L0 set before the boot.  In L1 (tests/hostguest/l1.sh):
#   1. the Rust tests of tests/linux_adapter.rs run against i801 and
#      i2c-virtio, and their SMBus tests again against i2c-stub;
#   2. QEMU itself is started to check claims: an address bound to a
#      kernel driver (refused; taken with force=on), an address another
#      QEMU process holds (refused), and free again after that QEMU exits;
#   3. the patched QEMU boots an inner guest "L2" (tests/hostguest/l2.sh)
#      with virtio-i2c-rust-pci,host=<L1's i801>, another on L1's i2c-stub,
#      and four host-i2cdev targets on L2's ICH9 SMBus (-> L1's i2c-virtio,
#      -> an absent client, -> L1's i801, -> L0's preset at24c).  L2 reads
#      L0's presets, writes and reads the EEPROMs and the stub with
#      busybox's i2cget/i2cset/i2ctransfer; after L2 has powered off, L1
#      reads the same cells directly;
#   4. faults while L2 runs: a NACK from an allowed but absent address, an
#      address outside the policy, a group with no SMBus equivalent on the
#      SMBus-only adapter, the stub's error for an absent chip, kernel
#      errors (L1 turns the i801's PCI I/O decoding off, then on again),
#      and the i801 driver unbound under the running QEMU.
#
# Each check is declared once, with its action and its expectation side by
# side, in l1.sh or l2.sh (see their headers); the guests print "EXP ..."
# and "CHK ..." lines and this script evaluates them, prints a line per
# check, the time of every phase and "N passed, N failed"; a check that is
# declared in l1.sh or l2.sh but never reported fails.  It exits 1 on a
# failure.
#
# Usage: see usage() below (tests/hostguest/run.sh --help).
# Logs: build/logs/hostguest-run.log (this output), hostguest-l1.log
#   (L1's console with L2's console and L2-QEMU's stderr, timestamped),
#   hostguest-cargo.log.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

usage() {
    cat <<'EOF'
usage: tests/hostguest/run.sh
Environment: VI2C_HG_TIMEOUT (whole L1 run, default 1200 s),
  VI2C_QEMU (QEMU binary, default build/qemu-<series>/build/qemu-system-x86_64),
  VI2C_HG_RECHECK=1 (no boot: check hostguest-l1.log of the last run again),
  in L1: VI2C_HG_L2_BOOT_TIMEOUT (L2 to its test, default 420 s),
  VI2C_HG_L2_TIMEOUT (L2-QEMU, 720 s), VI2C_HG_RT_TIMEOUT (Rust tests, 240 s).
Logs: build/logs/hostguest-run.log (the driver's output), hostguest-l1.log
  (L1's console with L2's console and L2-QEMU's stderr, timestamped),
  hostguest-cargo.log.
EOF
}
case ${1:-} in
-h | --help) usage; exit 0 ;;
'') ;;
*) usage >&2; exit 2 ;;
esac

HGDIR=$VI2C_ROOT/tests/hostguest
LOGDIR=$VI2C_BUILD/logs
WORK=$VI2C_BUILD/hostguest
SHARE=$WORK/share
QEMU=${VI2C_QEMU:-$VI2C_QEMU_BLD/qemu-system-x86_64}
TIMEOUT=${VI2C_HG_TIMEOUT:-1200}
mkdir -p "$LOGDIR" "$WORK"
RUNLOG=$LOGDIR/hostguest-run.log
[ -z "${VI2C_HG_RECHECK:-}" ] || RUNLOG=$LOGDIR/hostguest-recheck.log
L1LOG=$LOGDIR/hostguest-l1.log
exec > >(tee "$RUNLOG") 2>&1
TEEPID=$!
# Let tee finish writing before the script returns.
trap 'exec >&- 2>&-; wait "$TEEPID" 2>/dev/null' EXIT

T0=$(date +%s.%N)
PHASES=()
phase_done() { # phase_done NAME START
    PHASES+=("$(printf '%-34s %7.1f s' "$1" "$(awk -v a="$2" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')")")
}
say() { printf '[hostguest %6.1fs] %s\n' "$(elapsed "$T0")" "$*"; }

# --- prerequisites -------------------------------------------------------------
t=$(date +%s.%N)
[ -x "$QEMU" ] || die "$QEMU not found: run scripts/get-qemu.sh && scripts/build-qemu.sh"
devs=$("$QEMU" -device help 2>/dev/null)
for d in virtio-i2c-rust-pci host-i2cdev at24c-eeprom virtio-9p-pci; do
    grep -q "\"$d\"" <<<"$devs" || die "$QEMU lacks the device $d (rebuild it: scripts/build-qemu.sh)"
done
"$VI2C_ROOT/scripts/build-guest.sh" >"$LOGDIR/hostguest-build-guest.log" 2>&1 ||
    die "scripts/build-guest.sh failed (log: $LOGDIR/hostguest-build-guest.log)"
. "$VI2C_BUILD/guest/guest.env"
phase_done "guest kernel/initramfs (build-guest)" "$t"

t=$(date +%s.%N)
say "building the linux_adapter test binary"
(cd "$VI2C_ROOT" && timeout 900 cargo test --locked --test linux_adapter --no-run --message-format=json) \
    >"$WORK/cargo.json" 2>"$LOGDIR/hostguest-cargo.log" ||
    die "cargo test --test linux_adapter --no-run failed (log: $LOGDIR/hostguest-cargo.log)"
TESTBIN=$(sed -n 's/.*"executable":"\([^"]*linux_adapter[^"]*\)".*/\1/p' "$WORK/cargo.json" | tail -n1)
[ -x "$TESTBIN" ] || die "no linux_adapter executable in cargo's output ($WORK/cargo.json)"
mapfile -t RUST_TESTS < <("$TESTBIN" --list --ignored 2>/dev/null | sed -n 's/: test$//p')
[ ${#RUST_TESTS[@]} -gt 0 ] || die "$TESTBIN --list --ignored lists no tests"
# The SMBus tests: those whose #[ignore] reason asks for an SMBus-only
# adapter (VI2C_TEST_SMBUS_DEV) or the busy claim (VI2C_TEST_BUSY_ADDR).
# l1.sh runs them again on i2c-stub, or names the ones it does not run.
mapfile -t SMBUS_TESTS < <(awk '
    /#\[ignore = / { reason = $0; next }
    /^fn / && reason != "" {
        name = $2; sub(/\(.*/, "", name)
        if (reason ~ /VI2C_TEST_SMBUS_DEV|VI2C_TEST_BUSY_ADDR/) print name
        reason = ""
    }' "$VI2C_ROOT/tests/linux_adapter.rs")
[ ${#SMBUS_TESTS[@]} -gt 0 ] || die "no SMBus test found in tests/linux_adapter.rs"
phase_done "cargo test --no-run" "$t"

if [ -n "${VI2C_HG_RECHECK:-}" ]; then
    # Check the log of the last run again (for work on the checks).
    [ -f "$L1LOG" ] || die "no $L1LOG to check again"
    L1RC=$(sed -n 's/^L1RC=//p' "$L1LOG" | tail -n1)
    say "checking $L1LOG again (L1 QEMU status ${L1RC:-unknown})"
else
    # --- staging: what L1 sees on the 9p share "hg" -----------------------------
    t=$(date +%s.%N)
    rm -rf "$SHARE"
    mkdir -p "$SHARE/firmware"
    cp "$QEMU" "$SHARE/qemu-system-x86_64"
    for f in bios-256k.bin pvh.bin linuxboot_dma.bin linuxboot.bin multiboot_dma.bin kvmvapic.bin; do
        [ -f "$VI2C_FIRMWARE/qemu/$f" ] && cp -L "$VI2C_FIRMWARE/qemu/$f" "$SHARE/firmware/"
    done
    cp "$VI2C_GUEST_KERNEL" "$SHARE/vmlinux"
    cp "$TESTBIN" "$SHARE/linux_adapter"
    cp tests/guest/qmp.py tests/hostguest/unplug.py "$SHARE/"
    # i2c-stub for L1, from the guest kernel's modules (the base initramfs
    # does not carry it).
    stub=$(sed -n 's#^\(.*/i2c-stub\.ko[.a-z]*\):.*#\1#p' "$VI2C_GUEST_MODDIR/modules.dep")
    [ -n "$stub" ] || die "the guest kernel $VI2C_GUEST_KVER has no i2c-stub module"
    case $stub in
    *.xz) xz -dc "$VI2C_GUEST_MODDIR/$stub" ;;
    *.zst) zstd -dcq "$VI2C_GUEST_MODDIR/$stub" ;;
    *) cat "$VI2C_GUEST_MODDIR/$stub" ;;
    esac >"$WORK/i2c-stub.ko" || die "cannot unpack $stub"
    # L0's presets: two images of random bytes (never 0x00 or 0xff, the
    # values of a failed or empty read), for the two read-only at24cs.
    # rom-size is 512 (QEMU sizes block backends in 512-byte sectors) with
    # 1-byte addresses, and the image holds its 256 bytes twice: the
    # model's pointer keeps bit 8 of its previous position, and both
    # halves read the same.  hg.env tells L1 and L2 what to expect, in
    # the format of i2c-tools.
    python3 - "$WORK" >"$WORK/preset.env" <<'EOF' || die "cannot make the preset images"
import os
import sys

work = sys.argv[1]
img = {}
for tag in ("virt", "smb"):
    img[tag] = bytes(1 + b % 254 for b in os.urandom(256))
    with open(os.path.join(work, f"preset-{tag}.img"), "wb") as f:
        f.write(img[tag] * 2)


def hexes(b):
    return " ".join(f"0x{x:02x}" for x in b)


print(f'PRE_SMB_40_16="{hexes(img["smb"][0x40:0x50])}"')
print(f'PRE_SMB_A7="{hexes(img["smb"][0xa7:0xa8])}"')
print(f'PRE_VIRT_40_16="{hexes(img["virt"][0x40:0x50])}"')
print(f'PRE_VIRT_60="{hexes(img["virt"][0x60:0x61])}"')
print(f'PRE_VIRT_80W="0x{img["virt"][0x81]:02x}{img["virt"][0x80]:02x}"')
EOF
    {
        printf '%s\n' "HG_L2_TIMEOUT=${VI2C_HG_L2_TIMEOUT:-720}" \
            "HG_L2_BOOT_TIMEOUT=${VI2C_HG_L2_BOOT_TIMEOUT:-420}" \
            "HG_RT_TIMEOUT=${VI2C_HG_RT_TIMEOUT:-240}"
        cat "$WORK/preset.env"
    } >"$WORK/hg.env"
    "$VI2C_ROOT/scripts/make-test-initrd.sh" "$HGDIR/l2.sh" "$SHARE/l2.initrd" "$WORK/hg.env" ||
        die "cannot make the L2 initrd"
    "$VI2C_ROOT/scripts/make-test-initrd.sh" "$HGDIR/l1.sh" "$WORK/l1.initrd" "$WORK/hg.env" \
        "$WORK/i2c-stub.ko" || die "cannot make the L1 initrd"
    phase_done "staging (share, initrds)" "$t"

    # --- the L1 boot ----------------------------------------------------------------
    # shellcheck disable=SC2054 # commas separate QEMU's suboptions
    cmd=(
        "$QEMU" -M q35 -accel tcg,thread=multi -m 2048 -smp 2 -nodefaults -display none
        -serial stdio -no-reboot -L "$VI2C_FIRMWARE/qemu"
        -kernel "$VI2C_GUEST_KERNEL" -initrd "$WORK/l1.initrd"
        -append "console=ttyS0 panic=-1 quiet loglevel=3"
        -device virtio-i2c-rust-pci,id=vi2c0
        -device at24c-eeprom,bus=vi2c0.0,address=0x50,rom-size=256
        -device tmp105,bus=vi2c0.0,address=0x48
        -drive "if=none,id=presetvirt,format=raw,file=$WORK/preset-virt.img"
        -device at24c-eeprom,bus=vi2c0.0,address=0x52,rom-size=512,address-size=1,writable=off,drive=presetvirt
        -drive "if=none,id=presetsmb,format=raw,file=$WORK/preset-smb.img"
        -device at24c-eeprom,bus=i2c,address=0x5c,rom-size=512,address-size=1,writable=off,drive=presetsmb
        -virtfs local,path=/usr,mount_tag=hostusr,security_model=none,readonly=on
        -virtfs "local,path=$SHARE,mount_tag=hg,security_model=none,readonly=on"
    )
    say "booting L1 (timeout $TIMEOUT s; console in $L1LOG)"
    printf 'CMD: %s\n' "$(printf '%q ' "${cmd[@]}")" >"$L1LOG"
    T_L1=$(date +%s.%N)
    # Every line gets the seconds since QEMU started; progress lines are echoed.
    timestamp() {
        local s=${EPOCHREALTIME/./} line now
        while IFS= read -r line; do
            line=${line//$'\r'/}
            now=${EPOCHREALTIME/./}
            printf '[%4d.%02d] %s\n' $(((now - s) / 1000000)) $(((now - s) / 10000 % 100)) "$line"
        done
    }
    timeout -k 5 "$TIMEOUT" "${cmd[@]}" </dev/null 2>&1 |
        sed -u -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[c()][0-9A-B]\{0,1\}//g' |
        timestamp | tee -a "$L1LOG" |
        grep --line-buffered -a -E '^\[ *[0-9.]+\] (PHASE |L1: (saw|TIMEOUT|L2-QEMU)|CHK rust@|RT:[^|]*\| test result|RESULT: )' |
        sed -u 's/^/    L1 /'
    L1RC=${PIPESTATUS[0]}
    phase_done "L1 total (QEMU start to exit)" "$T_L1"
    say "L1 QEMU exited with status $L1RC"
    echo "L1RC=$L1RC" >>"$L1LOG"
fi

# --- checks ----------------------------------------------------------------------
# Every check is declared once, in l1.sh or l2.sh, with its action and its
# expectation; the guests print the expectation ("EXP NAME ERE", "EXPLOG
# NAME MIN ERE", "EXPRUST NAME cover=.. run=.. skip=..") and the result
# ("CHK NAME rc=N out=..."), and this part evaluates them in the order they
# were printed.  Only l1-run (L1's own exit) is checked here alone.
PASS=0 FAIL=0
pass() {
    PASS=$((PASS + 1))
    printf 'PASS  %-34s %s\n' "$1" "$2"
}
fail() {
    FAIL=$((FAIL + 1))
    printf 'FAIL  %-34s %s\n' "$1" "$2"
}
# Log lines without the timestamp, and L2-QEMU's stderr alone.
LOGTXT=$WORK/l1.txt
sed -e 's/^\[ *[0-9.]*\] //' "$L1LOG" >"$LOGTXT"
L2ERR=$WORK/l2err.txt
grep -a '^L2ERR| ' "$LOGTXT" | sed 's/^L2ERR| //' >"$L2ERR"

# The names of the checks that l1.sh and l2.sh declare: each must report.
mapfile -t DECLARED < <(sed -n -E \
    's/^[[:space:]]*(chk|report|qx|stderr_has|rust_tests)[[:space:]]+([A-Za-z0-9@:+._-]+)([[:space:]].*)?$/\2/p' \
    "$HGDIR/l1.sh" "$HGDIR/l2.sh" | awk '!seen[$0]++')
[ ${#DECLARED[@]} -gt 0 ] || die "no check declared in l1.sh and l2.sh"

# The last result of each check: "rc=N out=...".
declare -A RESULT REPORTED
while IFS= read -r line; do
    line=${line#L2| }
    rest=${line#CHK }
    RESULT[${rest%% *}]=${rest#* }
done < <(grep -a -E '^(L2\| )?CHK ' "$LOGTXT")

# check_exp NAME ERE: the result matches ERE.
check_exp() {
    local r=${RESULT[$1]:-}
    if [ -z "$r" ]; then
        fail "$1" "no result (expected /$2/)"
    elif [[ $r =~ $2 ]]; then
        pass "$1" "$r"
    else
        fail "$1" "expected /$2/, got '$r'"
    fi
}
# check_log NAME MIN ERE: at least MIN lines of L2-QEMU's stderr match ERE.
check_log() {
    local n l
    n=$(grep -a -c -E -- "$3" "$L2ERR")
    l=$(grep -a -E -m1 -- "$3" "$L2ERR")
    if [ "$n" -ge "$2" ]; then
        pass "$1" "$n line(s) of L2-QEMU's stderr match, first: $l"
    else
        fail "$1" "$n line(s) of L2-QEMU's stderr match /$3/, expected at least $2"
    fi
}
in_list() { # in_list WORD LIST...
    # A loop, not "printf | grep -q": under pipefail, grep's early exit can
    # fail the pipeline with printf's SIGPIPE even when the word is there.
    local x=$1 w
    shift
    for w in "$@"; do
        [ "$w" = "$x" ] && return 0
    done
    return 1
}
# check_rust NAME COVER RUN SKIP: every test of RUN reports ok in the output
# of that run ("RT:NAME| "), the result line counts them all, RUN and SKIP
# name tests that exist, and together they cover COVER.
check_rust() {
    local name=$1 cover=$2 run=$3 skip=$4 t l
    local -a runl=() skipl=() coverl=()
    if [ "$run" = all ]; then runl=("${RUST_TESTS[@]}"); else IFS=, read -r -a runl <<<"$run"; fi
    [ "$skip" = - ] || IFS=, read -r -a skipl <<<"$skip"
    case $cover in
    all) coverl=("${RUST_TESTS[@]}") ;;
    smbus) coverl=("${SMBUS_TESTS[@]}") ;;
    *) fail "$name" "unknown cover=$cover" ;;
    esac
    if [ ${#runl[@]} -eq 0 ]; then
        fail "$name" "no test to run"
        return
    fi
    for t in "${runl[@]}" "${skipl[@]}"; do
        in_list "$t" "${RUST_TESTS[@]}" || fail "$name:$t" "no such test in ${TESTBIN##*/}"
    done
    for t in "${coverl[@]}"; do
        in_list "$t" "${runl[@]}" "${skipl[@]}" ||
            fail "$name:$t" "a $cover test that is neither run nor named as not run"
    done
    for t in "${runl[@]}"; do
        l=$(grep -a -F "RT:$name| test $t ... " "$LOGTXT" | tail -n1)
        l=${l#"RT:$name| "}
        case $l in
        *"... ok") pass "$name:$t" "$l" ;;
        "") fail "$name:$t" "did not run" ;;
        *) fail "$name:$t" "$l" ;;
        esac
    done
    for t in "${skipl[@]}"; do
        printf 'NOTE  %-34s not run here on purpose (l1.sh says why)\n' "$name:$t"
    done
    l=$(grep -a -F "RT:$name| test result: " "$LOGTXT" | tail -n1)
    l=${l#"RT:$name| "}
    if [[ $l == "test result: ok. ${#runl[@]} passed; 0 failed"* ]] &&
        [ "${RESULT[$name]:-}" = "rc=0 out=" ]; then
        pass "$name:result" "$l"
    else
        fail "$name:result" "${l:-no test result line}; ${RESULT[$name]:-no exit status}"
    fi
}

echo
while IFS= read -r line; do
    line=${line#L2| }
    kind=${line%% *}
    if [ "$kind" = SECTION ]; then
        printf '=== %s\n' "${line#SECTION }"
        continue
    fi
    rest=${line#* }
    name=${rest%% *}
    rest=${rest#"$name"}
    rest=${rest# }
    # A check reports once; a second declaration of it (the other branch
    # of an if, a loop) is not counted twice.
    [ -z "${REPORTED[$name]:-}" ] || continue
    REPORTED[$name]=1
    case $kind in
    EXP) check_exp "$name" "$rest" ;;
    EXPLOG) check_log "$name" "${rest%% *}" "${rest#* }" ;;
    EXPRUST)
        read -r c r s <<<"$rest"
        check_rust "$name" "${c#cover=}" "${r#run=}" "${s#skip=}"
        ;;
    esac
done < <(grep -a -E '^(L2\| )?(SECTION|EXP|EXPLOG|EXPRUST) ' "$LOGTXT")

missing=()
for n in "${DECLARED[@]}"; do
    [ -n "${REPORTED[$n]:-}" ] || missing+=("$n")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "=== declared in l1.sh or l2.sh, but never reported"
    for n in "${missing[@]}"; do
        fail "$n" "the guest did not get there (see $L1LOG)"
    done
fi

echo "=== L1"
if grep -a -q -E '^RESULT: rc=0' "$LOGTXT" && [ "$L1RC" = 0 ]; then
    pass l1-run "L1 test script finished, QEMU exit status 0"
else
    fail l1-run "L1 QEMU status $L1RC, L1 result: $(grep -a -E '^RESULT: ' "$LOGTXT" | tail -n1)"
fi

# --- timings ------------------------------------------------------------------------
# ts LINE-REGEX: seconds since L1's QEMU started, of the first matching line.
ts() { grep -a -E -m1 "^\[ *[0-9.]+\] $1" "$L1LOG" | sed 's/^\[ *\([0-9.]*\)\].*/\1/'; }
span() { # span NAME FROM-REGEX TO-REGEX
    local a b
    a=$(ts "$2")
    b=$(ts "$3")
    if [ -n "$a" ] && [ -n "$b" ]; then
        PHASES+=("$(printf '  %-32s %7.1f s' "$1" "$(awk -v a="$a" -v b="$b" 'BEGIN { print b - a }')")")
    fi
}
a=$(ts 'PHASE l1-setup')
[ -z "$a" ] || PHASES+=("$(printf '  %-32s %7.1f s' "L1 QEMU start to its test script" "$a")")
span "L1 setup (9p, chroot, adapters)" 'PHASE l1-setup' 'PHASE rust-tests'
span "Rust tests (i801+virtio, stub)" 'PHASE rust-tests' 'PHASE qemu-claims'
span "QEMU claim checks (3 QEMU runs)" 'PHASE qemu-claims' 'PHASE l2-preset'
span "nested L2 (QEMU start to exit)" 'PHASE l2 ' 'CHK l2-qemu-exit-status'
span "  L2 QEMU start to L2 test start" 'PHASE l2 ' 'L2\| L2: SYNC start'
span "  L2 checks and faults" 'L2\| L2: SYNC start' 'L2\| L2: SYNC done'
span "  L2 poweroff" 'L2\| L2: SYNC done' 'CHK l2-qemu-exit-status'
span "readback, unbind/rebind in L1" 'CHK l2-qemu-exit-status' 'PHASE l1-end'
span "L1 poweroff" 'PHASE l1-end' 'RESULT: '

echo
echo "=== timings"
printf '%s\n' "${PHASES[@]}"
echo
echo "$PASS passed, $FAIL failed (total wall $(elapsed "$T0") s; logs: $RUNLOG, $L1LOG)"
[ "$FAIL" = 0 ]
