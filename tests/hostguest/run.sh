#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Host side for real, in a guest, and the nested chain (test pyramid
# level 6 of the design notes).
#
# One TCG boot of a host guest "L1" (q35) with the patched QEMU.  L1 is a
# real Linux host with two real i2c-dev adapters: i2c-i801 on the ICH9
# SMBus (SMBus-only; SPD EEPROMs at 0x50-0x57) and i2c-virtio on a
# virtio-i2c-rust-pci emulated bus (full I2C; an at24c at 0x50, a tmp105
# at 0x48).  In L1 (tests/hostguest/l1.sh):
#   1. the Rust tests of tests/linux_adapter.rs run against both adapters
#      (functionality, I2C_RDWR groups, SMBus translation, zero-length
#      quick, busy claim, claims of two open adapters);
#   2. QEMU itself is started to check claims: an address bound to a
#      kernel driver (refused; taken with force=on), an address another
#      QEMU process holds (refused), and free again after that QEMU exits;
#   3. the patched QEMU boots an inner guest "L2" (tests/hostguest/l2.sh)
#      with virtio-i2c-rust-pci,host=<L1's i801> and three host-i2cdev
#      targets on L2's ICH9 SMBus (-> L1's i2c-virtio, -> an absent client,
#      -> L1's i801).  L2 writes and reads both EEPROMs with busybox's
#      i2cget/i2cset/i2ctransfer;
#      after L2 has powered off, L1 reads the same cells directly;
#   4. faults while L2 runs: a NACK from an allowed but absent address, an
#      address outside the policy, a group with no SMBus equivalent on the
#      SMBus-only adapter, kernel errors (L1 turns the i801's PCI I/O
#      decoding off, then on again), and the i801 driver unbound under the
#      running QEMU.
# This script checks every value L1 and L2 report, prints a line per check,
# the time of every phase and "N passed, N failed"; it exits 1 on failure.
#
# Usage: tests/hostguest/run.sh
# Environment: VI2C_HG_TIMEOUT (whole L1 run, default 1200 s),
#   VI2C_QEMU (QEMU binary, default build/qemu-build/qemu-system-x86_64),
#   VI2C_HG_RECHECK=1 (no boot: check hostguest-l1.log of the last run again),
#   in L1: VI2C_HG_L2_BOOT_TIMEOUT (L2 to its test, default 420 s),
#   VI2C_HG_L2_TIMEOUT (L2-QEMU, 720 s), VI2C_HG_RT_TIMEOUT (Rust tests, 240 s).
# Logs: build/logs/hostguest-run.log (this output), hostguest-l1.log
#   (L1's console with L2's console and L2-QEMU's stderr, timestamped),
#   hostguest-cargo.log.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

HGDIR=$VI2C_ROOT/tests/hostguest
LOGDIR=$VI2C_BUILD/logs
WORK=$VI2C_BUILD/hostguest
SHARE=$WORK/share
QEMU=${VI2C_QEMU:-$VI2C_BUILD/qemu-build/qemu-system-x86_64}
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
    "$VI2C_ROOT/scripts/make-test-initrd.sh" "$HGDIR/l2.sh" "$SHARE/l2.initrd" ||
        die "cannot make the L2 initrd"
    printf '%s\n' "HG_L2_TIMEOUT=${VI2C_HG_L2_TIMEOUT:-720}" \
        "HG_L2_BOOT_TIMEOUT=${VI2C_HG_L2_BOOT_TIMEOUT:-420}" \
        "HG_RT_TIMEOUT=${VI2C_HG_RT_TIMEOUT:-240}" >"$WORK/hg.env"
    "$VI2C_ROOT/scripts/make-test-initrd.sh" "$HGDIR/l1.sh" "$WORK/l1.initrd" "$WORK/hg.env" ||
        die "cannot make the L1 initrd"
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
        grep --line-buffered -a -E '^\[ *[0-9.]+\] (PHASE |L1: (saw|TIMEOUT|L2-QEMU)|CHK rust-tests|RT\| test result|RESULT: )' |
        sed -u 's/^/    L1 /'
    L1RC=${PIPESTATUS[0]}
    phase_done "L1 total (QEMU start to exit)" "$T_L1"
    say "L1 QEMU exited with status $L1RC"
    echo "L1RC=$L1RC" >>"$L1LOG"
fi

# --- checks ----------------------------------------------------------------------
PASS=0 FAIL=0
pass() {
    PASS=$((PASS + 1))
    printf 'PASS  %-28s %s\n' "$1" "$2"
}
fail() {
    FAIL=$((FAIL + 1))
    printf 'FAIL  %-28s %s\n' "$1" "$2"
}
# Log lines without the timestamp.
LOGTXT=$WORK/l1.txt
sed -e 's/^\[ *[0-9.]*\] //' "$L1LOG" >"$LOGTXT"
# chk_get LABEL: "rc=N out=..." of the last CHK line with that label.
chk_get() {
    grep -a -E "^(L2\| )?CHK $1 rc=" "$LOGTXT" | tail -n1 | sed -e 's/^L2| //' -e "s/^CHK $1 //"
}
# expect NAME LABEL VALUE: rc 0 and exactly this output.
expect() {
    local r
    r=$(chk_get "$2")
    if [ -z "$r" ]; then
        fail "$1" "no result for $2"
    elif [ "$r" = "rc=0 out=$3" ]; then
        pass "$1" "$2: $3"
    else
        fail "$1" "$2: expected 'rc=0 out=$3', got '$r'"
    fi
}
# expect_rc NAME LABEL RC REGEX: this exit status, output matching REGEX.
expect_rc() {
    local r
    r=$(chk_get "$2")
    if [ -z "$r" ]; then
        fail "$1" "no result for $2"
    elif [[ $r =~ ^rc=$3\ out=(.*)$ ]] && [[ ${BASH_REMATCH[1]} =~ $4 ]]; then
        pass "$1" "$2: $r"
    else
        fail "$1" "$2: expected rc=$3 and /$4/, got '$r'"
    fi
}
# expect_err NAME LABEL REGEX: a non-zero exit status, output matching REGEX.
expect_err() {
    local r
    r=$(chk_get "$2")
    if [ -z "$r" ]; then
        fail "$1" "no result for $2"
    elif [[ $r =~ ^rc=([0-9]+)\ out=(.*)$ ]] && [ "${BASH_REMATCH[1]}" != 0 ] &&
        [[ ${BASH_REMATCH[2]} =~ $3 ]]; then
        pass "$1" "$2: $r"
    else
        fail "$1" "$2: expected an error matching /$3/, got '$r'"
    fi
}
# expect_log NAME REGEX: a line of L2-QEMU's stderr matches.
expect_log() {
    local l
    l=$(grep -a '^L2ERR| ' "$LOGTXT" | sed 's/^L2ERR| //' | grep -a -E -m1 -- "$2")
    if [ -n "$l" ]; then
        pass "$1" "stderr: $l"
    else
        fail "$1" "no line of L2-QEMU's stderr matches /$2/"
    fi
}
# expect_logs NAME COUNT REGEX: at least COUNT lines of L2-QEMU's stderr match.
expect_logs() {
    local n
    n=$(grep -a '^L2ERR| ' "$LOGTXT" | sed 's/^L2ERR| //' | grep -a -c -E -- "$3")
    if [ "$n" -ge "$2" ]; then
        pass "$1" "$n lines of L2-QEMU's stderr match /$3/"
    else
        fail "$1" "$n lines of L2-QEMU's stderr match /$3/, expected at least $2"
    fi
}

echo
echo "=== L1: the adapters"
expect_rc l1-adapters l1-adapters 0 'smbus=i2c-[0-9]+ \[SMBus I801 adapter at [0-9a-f]+\] virtio=i2c-[0-9]+ \[i2c_virtio at virtio bus [0-9]+\]'
expect_rc l1-smbus-is-smbus-only l1-smb-funcs 0 'I2C +no .*SMBus Quick Command +yes'
expect_rc l1-virtio-is-full-i2c l1-virt-funcs 0 'I2C +yes .*SMBus Quick Command +yes'
expect_rc l1-virtio-detect l1-virt-detect 0 '40: -- -- -- -- -- -- -- -- 48 .*50: 50 --'
expect_rc l1-smbus-detect l1-smb-detect 0 '50: 50 51 52 53 54 55 56 57 --'

echo "=== L1: tests/linux_adapter.rs on both adapters (--ignored --test-threads=1)"
for tn in "${RUST_TESTS[@]}"; do
    l=$(grep -a -E "^RT\| test $tn \.\.\. " "$LOGTXT" | tail -n1 | sed 's/^RT| //')
    case $l in
    *"... ok") pass "rust:$tn" "$l" ;;
    "") fail "rust:$tn" "did not run" ;;
    *) fail "rust:$tn" "$l" ;;
    esac
done
l=$(grep -a -E '^RT\| test result: ' "$LOGTXT" | tail -n1 | sed 's/^RT| //')
if [[ $l == "test result: ok. ${#RUST_TESTS[@]} passed; 0 failed"* ]]; then
    pass rust:result "$l"
else
    fail rust:result "${l:-no test result line}"
fi

echo "=== L1: claims through QEMU (another process, a kernel driver)"
expect_rc at24-bound-in-l1 l1-at24-bound 0 'drivers/at24$'
expect_err busy-refused:pt busy-pt '0x53 on /dev/i2c-[0-9]+ is in use by a kernel driver \(use force=on to override\)'
expect_err busy-refused:host-i2cdev busy-hic '0x53 on /dev/i2c-[0-9]+ is in use by a kernel driver \(use force=on to override\)'
expect_rc busy-forced:host-i2cdev busy-hic-force 0 '^$'
expect_err lock-2nd-process:pt lock-pt '0x50 on /dev/i2c-[0-9]+ is claimed by another process'
expect_err lock-2nd-process:hic lock-hic '0x50 on /dev/i2c-[0-9]+ is claimed by another process'
expect_rc lock-released-on-exit lock-released 0 '^$'

echo "=== nested: L1 runs the patched QEMU for L2"
expect preset:l1-spd-0x50 l1-preset-smb 0x01
expect preset:l1-spd-0x52 l1-preset-smb52 0x03
expect preset:l1-at24c l1-preset-virt 0x02
expect_rc l2-boot l2-boot 0 'L2 test started'
expect_rc l2:pt-funcs pt-funcs 0 '(^| )I2C +yes .*SMBus [Rr]ead [Bb]yte +yes'
echo "--- L2 i2c-virtio -> virtio-i2c-rust-pci,host=L1 i801 (SMBus translation) -> L0 SPD EEPROM 0x50"
expect l2:pt-reads-l1-preset pt-read-preset 0x01
expect l2:pt-write-byte pt-write ""
expect l2:pt-read-byte pt-read 0x5a
expect l2:pt-write-byte2 pt-write2 ""
expect l2:pt-read-word pt-word 0xc35a
expect l2:pt-i2ctransfer-write pt-xfer-write ""
expect l2:pt-i2ctransfer-w1r2 pt-xfer-read "0x11 0x22"
echo "--- L2 ICH9 SMBus -> host-i2cdev 0x4a -> L1 i2c-virtio 0x50 -> L0 at24c"
expect l2:hic-reads-l1-preset hic-read-preset 0x02
expect l2:hic-write-byte hic-write ""
expect l2:hic-read-byte hic-read 0xa5
expect l2:hic-write-byte2 hic-write2 ""
expect l2:hic-read-word hic-word 0x3ca5
expect l2:hic2-reads-l1-preset hic2-read-preset 0x03

echo "=== faults (L2 sees an error, L2-QEMU logs it, the next request is served)"
expect_err fault:pt-nack-absent pt-nack 'Read failed|failed'
expect_log fault:pt-nack-logged 'vi2c_qemu_nack virtio-i2c-rust .*no acknowledge from 0x58'
expect fault:pt-after-nack pt-after-nack 0x5a
expect_err fault:pt-outside-policy pt-policy 'failed'
expect_log fault:pt-policy-logged '^virtio-i2c-rust .*targets 0x51, which is not allowed'
expect fault:pt-after-policy pt-after-policy 0x5a
expect_err fault:hic-nack-absent hic-nack 'failed'
expect_log fault:hic-nack-logged 'vi2c_qemu_nack host-i2cdev at 0x4b: .*no acknowledge'
expect fault:hic-after-nack hic-after-nack 0xa5
expect_rc fault:pt-no-smbus-equivalent pt-nosmbus '[0-9]+' 'failed|only 0/2 messages'
expect_log fault:pt-no-smbus-logged 'warning: virtio-i2c-rust .*host=/dev/i2c-[0-9]+: .*SMBus-only and has no SMBus transaction for \[W1@0x50 R40@0x50\]'
expect fault:pt-after-no-smbus pt-after-nosmbus 0x5a
echo "--- kernel errors: L1 turns the i801's PCI I/O decoding off, then on"
expect_err fault:pt-kernel-error pt-io-off 'failed'
expect_log fault:pt-kernel-error-logged 'warning: virtio-i2c-rust .*host=/dev/i2c-[0-9]+: .*I2C_SMBUS on /dev/i2c-[0-9]+ failed: Device or resource busy'
expect_err fault:pt-kernel-error-again pt-io-off-again 'failed'
expect_err fault:hic2-kernel-error hic2-io-off 'failed'
expect_log fault:hic2-kernel-error-logged 'warning: host-i2cdev.*host=/dev/i2c-[0-9]+: .*Device or resource busy'
# FINISH has no status in QEMU's I2C target API: a write that fails on the
# host is only logged (the read above and this write: two warnings), and
# the value stays what it was (hic2-io-on below).
expect_rc fault:hic2-write-not-reported hic2-io-write 0 '^$'
expect_logs fault:hic2-lost-write-logged 2 'warning: host-i2cdev.*host=/dev/i2c-[0-9]+: .*Device or resource busy'
expect_rc fault:l1-kernel-logged l1-dmesg-busy 0 '^[1-9][0-9]*$'
expect fault:pt-after-kernel-error pt-io-on 0x5a
expect fault:hic2-after-kernel-error hic2-io-on 0x03
echo "--- the i801 driver unbound under the running L2-QEMU"
expect_rc unbind:blocks-while-open l1-unbind-blocks 0 'i2c_del_adapter'
expect_rc unbind:node-removed l1-unbind-devnode 0 'No such file'
expect_rc unbind:pt-keeps-serving pt-during-unbind 0 '^ok=8 failed=0 last=0x5a$'
expect unbind:pt-next-request pt-after-unbind 0x5a
expect unbind:hic2-next-request hic2-after-unbind 0x03
expect unbind:hic-next-request hic-after-unbind 0xa5
expect_rc unbind:completes-after-exit l1-unbind-after-exit 0 'rc=0'
expect_rc unbind:rebind l1-rebind 0 'SMBus I801 adapter'
echo "--- L2-QEMU"
expect_rc l2-qemu-exit-status l2-qemu-exit 0 'L2 wall'
if grep -a -q -E '^L2\| RESULT: rc=0' "$LOGTXT"; then
    pass l2-test-script "L2 RESULT: rc=0"
else
    fail l2-test-script "no 'RESULT: rc=0' from L2"
fi
crash=$(grep -a '^L2ERR| ' "$LOGTXT" | grep -a -i -E -m1 'segmentation|abort|assert|panick|core dumped|fatal' || true)
if [ -z "$crash" ]; then
    pass l2-qemu-no-crash "no crash, abort or assertion on L2-QEMU's stderr"
else
    fail l2-qemu-no-crash "$crash"
fi

echo "=== after L2 powered off: L1 reads the cells directly"
expect readback:spd-0x50@0x10 l1-after-smb-10 0x5a
expect readback:spd-0x50@0x11 l1-after-smb-11 0xc3
expect readback:spd-0x50@0x20w l1-after-smb-20 0x2211
expect readback:spd-0x52@0x10 l1-after-smb52-10 0x03
expect readback:at24c@0x10 l1-after-virt-10 0xa5
expect readback:at24c-group l1-after-virt-group "0xa5 0x3c"

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
span "Rust linux_adapter tests" 'PHASE rust-tests' 'PHASE qemu-claims'
span "QEMU claim checks (3 QEMU runs)" 'PHASE qemu-claims' 'PHASE l2-preset'
span "nested L2 (QEMU start to exit)" 'PHASE l2 ' 'CHK l2-qemu-exit'
span "  L2 QEMU start to L2 test start" 'PHASE l2 ' 'L2\| L2: SYNC start'
span "  L2 checks and faults" 'L2\| L2: SYNC start' 'L2\| L2: SYNC done'
span "  L2 poweroff" 'L2\| L2: SYNC done' 'CHK l2-qemu-exit'
span "readback, unbind/rebind in L1" 'CHK l2-qemu-exit' 'PHASE l1-end'
span "L1 poweroff" 'PHASE l1-end' 'RESULT: '

echo
echo "=== timings"
printf '%s\n' "${PHASES[@]}"
echo
echo "$PASS passed, $FAIL failed (total wall $(elapsed "$T0") s; logs: $RUNLOG, $L1LOG)"
[ "$FAIL" = 0 ]
