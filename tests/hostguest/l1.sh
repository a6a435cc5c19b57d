#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The host guest (L1) of tests/hostguest/run.sh, run as /test.sh by the base
# initramfs.  L1 is a real Linux host with three real i2c-dev adapters:
#   - "SMBus I801 adapter at ..." (i2c-i801, SMBus-only; L0's ICH9 SMBus
#     with its SPD EEPROMs at 0x50-0x57 and a read-only at24c at 0x5c whose
#     contents L0 chose before the boot)
#   - "i2c_virtio at virtio bus ..." (i2c-virtio, full I2C; L0's
#     virtio-i2c-rust-pci emulated bus, i.e. the project's own bus: an
#     at24c at 0x50, a read-only at24c at 0x52 with contents L0 chose, a
#     tmp105 at 0x48)
#   - "SMBus stub driver" (the kernel's i2c-stub, loaded here: SMBus-only,
#     chips at 0x30-0x32; an adapter that owes nothing to QEMU or to this
#     project)
# It runs the Rust linux_adapter tests against them, small QEMU runs for
# the claims, then the patched QEMU for an inner guest (L2,
# tests/hostguest/l2.sh) with host pass-through to all three, injects
# faults while L2 runs and reads the cells back after L2 has powered off.
#
# Every check is one line here (or in l2.sh) with its action and its
# expectation, an extended regular expression over the one-line result
# "rc=<exit status> out=<stdout and stderr on one line>":
#   chk NAME ERE CMD...           run CMD (at most 30 s)
#   report NAME ERE RC OUT        a result this script worked out itself
#   qx NAME ERE QEMU-ARGS...      the patched QEMU, started stopped (-S) and
#                                 quit from its monitor at once
#   rust_tests NAME COVER RUN SKIP VAR=VALUE...
#                                 tests/linux_adapter.rs with these variables:
#                                 every test of RUN (all: every test that
#                                 --list --ignored lists) must report ok,
#                                 SKIP lists the tests deliberately not run,
#                                 and RUN + SKIP must cover COVER (all, or
#                                 smbus: every test that needs an SMBus-only
#                                 adapter or the busy claim)
# Each prints "EXP NAME ..." (the expectation) and then "CHK NAME rc=N
# out=..." (the result); run.sh evaluates them, and fails every NAME that
# l1.sh or l2.sh declares but that never reported.  Other output:
# "SECTION <title>", "PHASE <name>" (timing), "RT:<name>| " Rust test
# output, "L2| " L2's serial console and "L2ERR| " L2-QEMU's stderr.  This
# script exits 0 unless the setup itself fails.
#
# Shares (9p, read-only): hostusr = L0's /usr; hg = the staging directory
# of run.sh (qemu-system-x86_64, firmware/, vmlinux, l2.initrd,
# linux_adapter).  /files/hg.env: timeouts, and PRE_* (the bytes of L0's
# preset images, as i2c-tools print them); /files/i2c-stub.ko: the module.

HG_L2_TIMEOUT=720 HG_RT_TIMEOUT=240 HG_L2_BOOT_TIMEOUT=420
[ -f /files/hg.env ] && . /files/hg.env
# i2c-tools are called by path: busybox sh runs its own i2c applets before
# anything on PATH.

up() { cut -d' ' -f1 /proc/uptime; }
secs() { u=$(up); echo "${u%.*}"; }
phase() { echo "PHASE $1 uptime=$(up)"; }
section() { echo "SECTION $*"; }
oneline() { tr '\n' ' ' | sed 's/ *$//'; }
expect() { printf 'EXP %s %s\n' "$1" "$2"; }
chk() {
    l=$1 e=$2
    shift 2
    expect "$l" "$e"
    o=$(timeout 30 "$@" 2>&1)
    r=$?
    echo "CHK $l rc=$r out=$(echo "$o" | oneline)"
    return $r
}
report() {
    expect "$1" "$2"
    echo "CHK $1 rc=$3 out=$4"
}

phase l1-setup
echo "L1: kernel $(uname -r), $(nproc) CPUs, $(grep MemTotal /proc/meminfo | tr -s ' ')"
for m in 9pnet_virtio 9p at24; do
    modprobe "$m" || echo "L1: modprobe $m failed"
done
# i2c-stub: an independent SMBus-only adapter with chips at 0x30-0x32
# (0x30: the Rust tests' target, 0x31: their busy claim, 0x32: L2's).
insmod /files/i2c-stub.ko chip_addr=0x30,0x31,0x32 || echo "L1: insmod i2c-stub failed"

# --- the chroot: L0's /usr and the staging directory --------------------
H=/host
mkdir -p $H/usr $H/hg $H/proc $H/sys $H/dev $H/tmp
o="trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose"
mount -t 9p -o "$o" hostusr $H/usr || { echo "L1: mount hostusr failed"; exit 1; }
mount -t 9p -o "$o" hg $H/hg || { echo "L1: mount hg failed"; exit 1; }
for d in bin sbin lib lib64; do ln -sf usr/$d $H/$d; done
mount -t proc proc $H/proc
mount -t sysfs sysfs $H/sys
mount -o bind /dev $H/dev
Q=/hg/qemu-system-x86_64
[ -x $H$Q ] || { echo "L1: $Q missing in the share"; exit 1; }

# --- the adapters, by name ---------------------------------------------------
find_adapters() {
    SMBNR="" VIRTNR="" STUBNR="" SMBNAME="" VIRTNAME="" STUBNAME=""
    for d in /sys/bus/i2c/devices/i2c-*; do
        [ -e "$d/name" ] || continue
        n=$(cat "$d/name")
        case $n in
        "SMBus I801 adapter"*) SMBNR=${d##*/i2c-} SMBNAME=$n ;;
        "i2c_virtio"*) VIRTNR=${d##*/i2c-} VIRTNAME=$n ;;
        "SMBus stub driver") STUBNR=${d##*/i2c-} STUBNAME=$n ;;
        esac
    done
}
find_adapters
section "L1: the adapters"
report l1-adapters '^rc=0 out=smbus=i2c-[0-9]+ \[SMBus I801 adapter at [0-9a-f]+\] virtio=i2c-[0-9]+ \[i2c_virtio at virtio bus [0-9]+\] stub=i2c-[0-9]+ \[SMBus stub driver\]$' \
    0 "smbus=i2c-$SMBNR [$SMBNAME] virtio=i2c-$VIRTNR [$VIRTNAME] stub=i2c-$STUBNR [$STUBNAME]"
if [ -z "$SMBNR" ] || [ -z "$VIRTNR" ] || [ -z "$STUBNR" ]; then
    /usr/sbin/i2cdetect -l
    echo "L1: an adapter is missing"
    exit 1
fi
PCI=$(readlink -f "/sys/bus/i2c/devices/i2c-$SMBNR")
PCI=${PCI%/i2c-*}
PCI=${PCI##*/}
echo "L1: i801 PCI function $PCI"
/usr/sbin/i2cdetect -l
chk l1-smbus-is-smbus-only '^rc=0 out=.*I2C +no .*SMBus Quick Command +yes' \
    sh -c "/usr/sbin/i2cdetect -F $SMBNR | grep -E '^(I2C|SMBus Quick|SMBus Read Word|I2C Block Read)'"
chk l1-virtio-is-full-i2c '^rc=0 out=.*I2C +yes .*SMBus Quick Command +yes' \
    sh -c "/usr/sbin/i2cdetect -F $VIRTNR | grep -E '^(I2C|SMBus Quick|SMBus Read Word)'"
chk l1-stub-is-smbus-only '^rc=0 out=I2C +no SMBus Quick Command +yes .*SMBus Read Word +yes .*I2C Block Read +yes' \
    sh -c "/usr/sbin/i2cdetect -F $STUBNR | grep -E '^(I2C|SMBus Quick|SMBus Read Word|I2C Block Read)'"
# i2cdetect rows, exactly: the tmp105 at 0x48, the at24cs at 0x50 and 0x52
# on the virtio bus; the SPD EEPROMs and the preset at24c at 0x5c on i801;
# the three stub chips (the rows are joined with their line ends).
chk l1-virtio-detect '^rc=0 out=.* 40: -- -- -- -- -- -- -- -- 48 -- -- -- -- -- -- -- +50: 50 -- 52 -- -- -- -- -- -- -- -- -- -- -- -- -- +60:' \
    /usr/sbin/i2cdetect -y "$VIRTNR"
chk l1-smbus-detect '^rc=0 out=.* 50: 50 51 52 53 54 55 56 57 -- -- -- -- 5c -- -- -- +60:' \
    /usr/sbin/i2cdetect -y "$SMBNR"
chk l1-stub-detect '^rc=0 out=.* 30: 30 31 32 -- -- -- -- -- -- -- -- -- -- -- -- -- +40:' \
    /usr/sbin/i2cdetect -y "$STUBNR"

# --- what L0 put into its EEPROM models before the boot ----------------------
# Two read-only at24cs backed by image files of random bytes that run.sh
# made for this run (hg.env has them): L1 reads them through its real
# adapters here; L2 reads them through the pass-through (l2.sh).
section "presets: L0's images, read in L1 through its adapters"
chk preset:l1-virtio@0x52 "^rc=0 out=$PRE_VIRT_40_16\$" \
    /usr/sbin/i2ctransfer -y "$VIRTNR" w1@0x52 0x40 r16@0x52
chk preset:l1-smbus@0x5c "^rc=0 out=$PRE_SMB_40_16\$" \
    /usr/sbin/i2cget -y "$SMBNR" 0x5c 0x40 i 16

# --- the Rust integration tests --------------------------------------------------
# rust_tests NAME COVER RUN SKIP VAR=VALUE...: see the header.
rust_tests() {
    n=$1 cover=$2 run=$3 skip=$4
    shift 4
    # shellcheck disable=SC2086 # echo joins the words with single spaces
    printf 'EXPRUST %s cover=%s run=%s skip=%s\n' "$n" "$cover" \
        "$(echo $run | tr ' ' ',')" "$(echo ${skip:--} | tr ' ' ',')"
    filter=""
    [ "$run" = all ] || filter="--exact $run"
    (
        # shellcheck disable=SC2086 # the test names are words
        timeout "$HG_RT_TIMEOUT" chroot $H /usr/bin/env "$@" \
            /hg/linux_adapter --ignored --test-threads=1 $filter 2>&1
        echo $? >/tmp/rt.rc
    ) | awk -v p="RT:$n| " '{ print p $0; fflush() }'
    echo "CHK $n rc=$(cat /tmp/rt.rc) out="
}
phase rust-tests
section "L1: tests/linux_adapter.rs on i801 and i2c-virtio (--ignored --test-threads=1)"
rust_tests rust@i801+virtio all all "" \
    VI2C_TEST_SMBUS_DEV="$SMBNAME" VI2C_TEST_SMBUS_ADDR=0x50 \
    VI2C_TEST_I2C_DEV="$VIRTNAME" VI2C_TEST_I2C_ADDR=0x50 \
    VI2C_TEST_ABSENT_ADDR=0x0b \
    VI2C_TEST_BUSY_DEV="/dev/i2c-$SMBNR" VI2C_TEST_BUSY_ADDR=0x51
section "L1: the SMBus tests of tests/linux_adapter.rs again, on i2c-stub"
# Two SMBus tests are not run on i2c-stub: their expectations are an
# EEPROM's and i801's, not the stub's.
#   smbus_byte_word_and_block_translation: writes bytes 0x10 and 0x11 and
#     expects a word read at 0x10 to return both; i2c-stub keeps a separate
#     16-bit word per register (a word read of 0x10 returns its own word).
#     l2.sh checks the word, byte and I2C block translations on i2c-stub
#     with the stub's semantics instead (through L2's pass-through).
#   zero_length_quick_on_the_smbus_adapter: expects a NACK (ENXIO) from an
#     absent address; i2c-stub returns ENODEV there.
rust_tests rust@i2c-stub smbus \
    "smbus_only_adapter_has_no_i2c_bit options_apply_to_a_real_adapter rdwr_on_an_smbus_only_adapter_reaches_the_kernel group_without_smbus_equivalent_is_refused two_adapters_cannot_claim_one_address address_bound_to_a_driver_is_busy_unless_forced" \
    "smbus_byte_word_and_block_translation zero_length_quick_on_the_smbus_adapter" \
    VI2C_TEST_SMBUS_DEV="$STUBNAME" VI2C_TEST_SMBUS_ADDR=0x30 \
    VI2C_TEST_ABSENT_ADDR=0x0b \
    VI2C_TEST_BUSY_DEV="/dev/i2c-$STUBNR" VI2C_TEST_BUSY_ADDR=0x31

# --- claims through QEMU itself: a kernel driver, and another process --------
# qx NAME ERE QEMU-ARGS...: start QEMU stopped (-S), quit from the monitor at
# once.  rc 0: every device realized (claims taken); rc 1: an error.
qx() {
    l=$1 e=$2
    shift 2
    expect "$l" "$e"
    o=$(printf 'quit\n' | timeout 60 chroot $H $Q -M q35 -accel tcg -m 128 \
        -nodefaults -display none -serial none -S -monitor stdio \
        -L /hg/firmware "$@" 2>&1)
    r=$?
    echo "CHK $l rc=$r out=$(echo "$o" | grep -v -e '^QEMU .* monitor' -e '^(qemu)' | oneline)"
}
phase qemu-claims
section "L1: claims through QEMU (another process, a kernel driver)"
echo "24c02 0x53" >"/sys/bus/i2c/devices/i2c-$SMBNR/new_device"
chk at24-bound-in-l1 '^rc=0 out=.*drivers/at24$' readlink "/sys/bus/i2c/devices/$SMBNR-0053/driver"
qx busy-refused:pt '^rc=[1-9][0-9]* out=.*0x53 on /dev/i2c-[0-9]+ is in use by a kernel driver \(use force=on to override\)' \
    -device "virtio-i2c-rust-pci,host=/dev/i2c-$SMBNR,address=0x53"
qx busy-refused:host-i2cdev '^rc=[1-9][0-9]* out=.*0x53 on /dev/i2c-[0-9]+ is in use by a kernel driver \(use force=on to override\)' \
    -device "host-i2cdev,bus=i2c,address=0x4c,host=/dev/i2c-$SMBNR,hostaddr=0x53"
qx busy-forced:host-i2cdev '^rc=0 out=$' \
    -device "host-i2cdev,bus=i2c,address=0x4c,host=/dev/i2c-$SMBNR,hostaddr=0x53,force=on"
echo 0x53 >"/sys/bus/i2c/devices/i2c-$SMBNR/delete_device"

# --- cells the inner guest reads first and then writes -----------------------
# Set here, through the real adapters: L2 must read these values through
# the pass-through before it changes them.
phase l2-preset
section "nested: L1 runs the patched QEMU for L2"
chk setup:l1-writes-spd-0x50 '^rc=0 out=$' sh -c "/usr/sbin/i2cset -y $SMBNR 0x50 0x10 0x01 b &&
    /usr/sbin/i2cset -y $SMBNR 0x50 0x11 0x00 b && /usr/sbin/i2cset -y $SMBNR 0x50 0x20 0x0000 w"
chk setup:l1-writes-spd-0x52 '^rc=0 out=$' /usr/sbin/i2cset -y "$SMBNR" 0x52 0x10 0x03 b
chk setup:l1-writes-at24c '^rc=0 out=$' sh -c "/usr/sbin/i2cset -y $VIRTNR 0x50 0x10 0x02 b &&
    /usr/sbin/i2cset -y $VIRTNR 0x50 0x11 0x00 b"
# i2c-stub 0x32: byte 0x10, the words 0x20 and 0x21, bytes 0x40-0x43.
chk setup:l1-writes-stub '^rc=0 out=$' sh -c "/usr/sbin/i2cset -y $STUBNR 0x32 0x10 0x6b b &&
    /usr/sbin/i2cset -y $STUBNR 0x32 0x20 0x0000 w && /usr/sbin/i2cset -y $STUBNR 0x32 0x21 0x0000 w &&
    /usr/sbin/i2cset -y $STUBNR 0x32 0x40 0x00 0x00 0x00 0x00 i"

# --- the nested chain ------------------------------------------------------------
phase l2
rm -f /tmp/l2.out /tmp/l2.err /tmp/l2.rc
: >/tmp/l2.out
: >/tmp/l2.err
# PCI slots: l2.sh tells its two i2c-virtio adapters apart by them.
L2ARGS="-M q35 -accel tcg -m 512 -smp 1 -nodefaults -display none -serial stdio
 -no-reboot -L /hg/firmware -kernel /hg/vmlinux -initrd /hg/l2.initrd
 -device virtio-i2c-rust-pci,host=/dev/i2c-$SMBNR,address=0x50,,0x58,,0x5c,addr=0x8
 -device virtio-i2c-rust-pci,host=/dev/i2c-$STUBNR,address=0x32,,0x33,addr=0x9
 -device host-i2cdev,bus=i2c,address=0x4a,host=/dev/i2c-$VIRTNR,hostaddr=0x50
 -device host-i2cdev,bus=i2c,address=0x4b,host=/dev/i2c-$VIRTNR,hostaddr=0x51
 -device host-i2cdev,bus=i2c,address=0x4c,host=/dev/i2c-$SMBNR,hostaddr=0x52
 -device host-i2cdev,bus=i2c,address=0x4d,host=/dev/i2c-$VIRTNR,hostaddr=0x52
 -device pcie-root-port,id=rp1,chassis=1,slot=1,addr=0xa
 -device virtio-i2c-rust-pci,id=hot,bus=rp1,host=/dev/i2c-$VIRTNR,address=0x48
 -qmp unix:/tmp/l2.qmp,server=on,wait=off
 -d guest_errors -trace vi2c_qemu_nack"
# The inner kernel's command line: the Debian kernel boots nested TCG about
# 40 % faster without initcalls and mitigations an I2C test does not need.
L2APPEND="console=ttyS0 panic=-1 quiet loglevel=3 mitigations=off
 cryptomgr.notests lsm=capability audit=0 nowatchdog no_timer_check
 init_on_alloc=0 init_on_free=0 zswap.enabled=0
 initcall_blacklist=jent_mod_init,crypto_kdf108_init,bpf_tcp_ca_kfunc_init,bpf_dummy_struct_ops_init,load_system_certificate_list,init_encrypted,inet6_init"
L2APPEND=$(echo "$L2APPEND" | oneline)
echo "L1: L2 command: $(echo "$Q $L2ARGS" | oneline) -append '$L2APPEND'"
T_L2=$(up)
# shellcheck disable=SC2086 # L2ARGS is a list of words on purpose
(
    timeout "$HG_L2_TIMEOUT" chroot $H $Q $L2ARGS \
        -append "$L2APPEND" \
        </dev/null >/tmp/l2.out 2>/tmp/l2.err
    echo $? >/tmp/l2.rc
) &

OUTN=0 ERRN=0
# Prints the complete lines L2 and its QEMU have written since the last call.
flush_l2() {
    n=$(wc -l </tmp/l2.out)
    if [ "$n" -gt "$OUTN" ]; then
        sed -n "$((OUTN + 1)),${n}p" /tmp/l2.out | awk '{ sub(/\r$/, ""); print "L2| " $0 }'
        OUTN=$n
    fi
    n=$(wc -l </tmp/l2.err)
    if [ "$n" -gt "$ERRN" ]; then
        sed -n "$((ERRN + 1)),${n}p" /tmp/l2.err | awk '{ print "L2ERR| " $0 }'
        ERRN=$n
    fi
}
# wait_for MARKER SECONDS [POLL]: until L2 prints MARKER (polled every POLL
# seconds, default 0.3); 1 on timeout or when L2-QEMU has exited.
wait_for() {
    t_end=$(($(secs) + $2))
    while :; do
        flush_l2
        if grep -q "$1" /tmp/l2.out; then
            echo "L1: saw '$1' at uptime $(up)"
            return 0
        fi
        if [ -f /tmp/l2.rc ]; then
            flush_l2
            echo "L1: L2-QEMU exited (rc $(cat /tmp/l2.rc)) before '$1'"
            return 1
        fi
        if [ "$(secs)" -ge "$t_end" ]; then
            echo "L1: TIMEOUT after $2 s waiting for '$1'"
            return 1
        fi
        sleep "${3:-0.3}"
    done
}
# pause SECONDS, printing L2's output meanwhile
pause() {
    t_end=$(($(secs) + $1))
    while [ "$(secs)" -lt "$t_end" ]; do
        flush_l2
        sleep 0.2
    done
}
# PCI command register of the i801: I/O decoding on or off.  i2c-i801
# runtime-suspends its device after 1 s idle, and the runtime resume
# restores the PCI state it saved, I/O decoding on: written while the
# device is suspended, "off" would last only until the next transfer.
# So runtime PM is off (power/control "on") while the decoding is off.
CMD0=$(od -An -tx1 -j4 -N1 "/sys/bus/pci/devices/$PCI/config" | tr -d ' ')
CMD1=$(od -An -tx1 -j5 -N1 "/sys/bus/pci/devices/$PCI/config" | tr -d ' ')
set_io() { # set_io 0|1
    b0=$((0x$CMD0 & 0xfe))
    [ "$1" = 1 ] && b0=$((0x$CMD0))
    # shellcheck disable=SC2059 # octal escapes built on purpose
    printf "\\$(printf %o "$b0")\\$(printf %o "0x$CMD1")" |
        dd of="/sys/bus/pci/devices/$PCI/config" bs=1 seek=4 count=2 conv=notrunc 2>/dev/null
    echo "L1: i801 PCI command now $(od -An -tx1 -j4 -N2 "/sys/bus/pci/devices/$PCI/config") (I/O $1)"
}

L2_OK=1
# A slow poll while L2 boots: every process L1 starts takes CPU from it.
if wait_for "L2: SYNC start" "$HG_L2_BOOT_TIMEOUT" 2; then
    report l2-boot '^rc=0 out=L2 test started ' 0 \
        "L2 test started $(awk -v a="$T_L2" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }') s after its QEMU"
    # Another process (this one) cannot take what L2-QEMU holds.
    qx lock-2nd-process:pt '^rc=[1-9][0-9]* out=.*0x50 on /dev/i2c-[0-9]+ is claimed by another process' \
        -device "virtio-i2c-rust-pci,host=/dev/i2c-$SMBNR,address=0x50"
    qx lock-2nd-process:hic '^rc=[1-9][0-9]* out=.*0x50 on /dev/i2c-[0-9]+ is claimed by another process' \
        -device "host-i2cdev,bus=i2c,address=0x4a,host=/dev/i2c-$VIRTNR,hostaddr=0x50"
    qx lock-2nd-process:stub '^rc=[1-9][0-9]* out=.*0x32 on /dev/i2c-[0-9]+ is claimed by another process' \
        -device "virtio-i2c-rust-pci,host=/dev/i2c-$STUBNR,address=0x32"
else
    report l2-boot '^rc=0 out=L2 test started ' 1 "no start marker"
    L2_OK=0
fi

# For a hang: where L2-QEMU's threads are in L1's kernel, and L1's log.
dump_l2_state() {
    for p in $(pidof qemu-system-x86_64); do
        for t in "/proc/$p/task/"*; do
            echo "L1: qemu $p thread ${t##*/} ($(cat "$t/comm")) state $(sed -n 's/^State:\t//p' "$t/status"): $(head -n 4 "$t/stack" 2>/dev/null | sed 's/^\[<0>\] //' | oneline)"
        done
    done
    dmesg | tail -n 8 | sed 's/^/L1: dmesg: /'
}

if [ $L2_OK = 1 ] && wait_for "L2: SYNC io-off" 300; then
    PM=$(cat "/sys/bus/pci/devices/$PCI/power/control")
    echo on >"/sys/bus/pci/devices/$PCI/power/control"
    echo "L1: i801 runtime PM: control $PM -> on ($(cat "/sys/bus/pci/devices/$PCI/power/runtime_status"))"
    set_io 0
    wait_for "L2: SYNC io-on" 120 || { L2_OK=0; dump_l2_state; }
    set_io 1
    echo "$PM" >"/sys/bus/pci/devices/$PCI/power/control"
    # i2c-i801's own message for each transfer it refused.
    chk fault:l1-kernel-logged '^rc=0 out=[1-9][0-9]*$' sh -c "dmesg | grep -c 'SMBus is busy'"
    dmesg | grep i801 | tail -n 3 | sed 's/^/L1: dmesg: /'
fi

if [ $L2_OK = 1 ] && wait_for "L2: SYNC unbind" 120; then
    rm -f /tmp/unbind.done
    T_UNBIND=$(up)
    (
        echo "$PCI" >/sys/bus/pci/drivers/i801_smbus/unbind
        # shellcheck disable=SC2320 # the status of that write is the point
        r=$?
        echo "rc=$r uptime=$(up)" >/tmp/unbind.done
    ) &
    UNBIND_PID=$!
    echo "L1: unbind of $PCI started at uptime $T_UNBIND (pid $UNBIND_PID)"
    pause 3
    if [ -f /tmp/unbind.done ]; then
        report unbind:blocks-while-open '^rc=0 out=blocked in: .*i2c_del_adapter' 1 \
            "unbind completed at once: $(cat /tmp/unbind.done)"
    else
        report unbind:blocks-while-open '^rc=0 out=blocked in: .*i2c_del_adapter' 0 \
            "blocked in: $(head -n 3 /proc/$UNBIND_PID/stack 2>/dev/null | sed 's/^\[<0>\] //' | oneline)"
    fi
    chk unbind:node-removed '^rc=0 out=.*No such file' \
        sh -c "ls /dev/i2c-$SMBNR 2>&1; ls /sys/bus/i2c/devices/"
fi

# device_del of a host-mode adapter (behind a PCIe root port, so that the
# guest can eject it) while L2 runs transfers on it: QEMU's main loop must
# go on answering (the guest-side removal and the unrealize included), and
# the unplug must complete.  L2 checks its side (its loops end, the
# adapter is gone).
if [ $L2_OK = 1 ] && wait_for "L2: SYNC unplug" 120; then
    o=$(timeout 120 chroot $H python3 /hg/unplug.py /tmp/l2.qmp hot 90 2>&1)
    r=$?
    flush_l2
    echo "L1: unplug.py: $o"
    report unplug:device-deleted '^rc=0 out=deleted=1 after=' "$r" "$(echo "$o" | oneline)"
    worst=$(echo "$o" | sed -n 's/.*worst_ms=\([0-9]*\).*/\1/p')
    report unplug:main-loop-answers-within-2s '^rc=0 out=worst QMP round trip [0-9]+ ms$' \
        "$([ -n "$worst" ] && [ "$worst" -lt 2000 ] && echo 0 || echo 1)" \
        "worst QMP round trip ${worst:-unknown} ms"
fi

# L2 powers off when its test is done.
t_end=$(($(secs) + 240))
[ $L2_OK = 1 ] || t_end=$(secs)
while [ ! -f /tmp/l2.rc ] && [ "$(secs)" -lt "$t_end" ]; do
    flush_l2
    sleep 0.2
done
KILLED=""
if [ ! -f /tmp/l2.rc ]; then
    dump_l2_state
    echo "L1: L2-QEMU still running; killing it"
    KILLED="killed by L1"
    for p in $(pidof qemu-system-x86_64); do kill "$p"; done
    sleep 2
fi
flush_l2
T_L2END=$(up)
section "L2-QEMU"
# A clean exit: L2 powered off, QEMU exited with 0 by itself.  QEMU also
# exits with 0 on SIGTERM (from L1's kill; timeout gives 124), but then it
# prints "terminating on signal N": either makes the exit unclean.
how=$(grep -o 'terminating on signal [0-9]*.*' /tmp/l2.err | head -n1)
how=${KILLED:+$KILLED; }$how
report l2-qemu-exit-status '^rc=0 out=L2 wall [0-9.]+ s, exit: by itself$' \
    "$(cat /tmp/l2.rc 2>/dev/null || echo none)" \
    "L2 wall $(awk -v a="$T_L2" -v b="$T_L2END" 'BEGIN { printf "%.1f", b - a }') s, exit: ${how:-by itself}"
chk l2-test-script '^rc=0 out=RESULT: rc=0$' sh -c "tr -d '\r' </tmp/l2.out | grep -m1 '^RESULT: '"
# grep finds nothing: rc 1.
chk l2-qemu-no-crash '^rc=1 out=$' \
    grep -i -E -m1 'segmentation|abort|assert|panick|core dumped|fatal' /tmp/l2.err

if [ -n "${UNBIND_PID:-}" ]; then
    t_end=$(($(secs) + 20))
    while [ ! -f /tmp/unbind.done ] && [ "$(secs)" -lt "$t_end" ]; do sleep 0.2; done
    if [ -f /tmp/unbind.done ]; then
        report unbind:completes-after-exit '^rc=0 out=unbind returned rc=0 ' 0 \
            "unbind returned $(cat /tmp/unbind.done); L2-QEMU's exit seen at uptime $T_L2END"
        # Bind the driver again for the readback (a bind would block behind
        # an unbind that is still waiting).
        echo "$PCI" >/sys/bus/pci/drivers/i801_smbus/bind
        find_adapters
        report unbind:rebind '^rc=0 out=smbus=i2c-[0-9]+ \[SMBus I801 adapter' \
            "$([ -n "$SMBNR" ] && echo 0 || echo 1)" "smbus=i2c-$SMBNR [$SMBNAME]"
    else
        report unbind:completes-after-exit '^rc=0 out=unbind returned rc=0 ' 1 \
            "still blocked 20 s after L2-QEMU exited"
        SMBNR=none
    fi
fi

# --- what L2 wrote, read directly by L1 ---------------------------------------
phase readback
section "after L2 powered off: L1 reads the cells L2 wrote, directly"
chk readback:spd-0x50@0x10 '^rc=0 out=0x5a$' /usr/sbin/i2cget -y "$SMBNR" 0x50 0x10 b
chk readback:spd-0x50@0x11 '^rc=0 out=0xc3$' /usr/sbin/i2cget -y "$SMBNR" 0x50 0x11 b
chk readback:spd-0x50@0x20w '^rc=0 out=0x2211$' /usr/sbin/i2cget -y "$SMBNR" 0x50 0x20 w
# L2's write of 0x77 failed on the host (I/O decoding off): still 0x03.
chk readback:spd-0x52@0x10 '^rc=0 out=0x03$' /usr/sbin/i2cget -y "$SMBNR" 0x52 0x10 b
chk readback:at24c@0x10 '^rc=0 out=0xa5$' /usr/sbin/i2cget -y "$VIRTNR" 0x50 0x10 b
chk readback:at24c-group '^rc=0 out=0xa5 0x3c$' /usr/sbin/i2ctransfer -y "$VIRTNR" w1@0x50 0x10 r2@0x50
# i2c-stub keeps a 16-bit word per register: L2's word write (0xbeef at
# 0x20) must have been one SMBus word write (a 2-byte I2C block write puts
# the same bytes on the wire but would leave 0xef and 0xbe in the low
# bytes of the words 0x20 and 0x21).
chk readback:stub@0x10 '^rc=0 out=0xa6$' /usr/sbin/i2cget -y "$STUBNR" 0x32 0x10 b
chk readback:stub-word@0x20 '^rc=0 out=0xbeef$' /usr/sbin/i2cget -y "$STUBNR" 0x32 0x20 w
chk readback:stub-word@0x21 '^rc=0 out=0x0000$' /usr/sbin/i2cget -y "$STUBNR" 0x32 0x21 w
chk readback:stub-block@0x40 '^rc=0 out=0x01 0x02 0x03 0x04$' /usr/sbin/i2cget -y "$STUBNR" 0x32 0x40 i 4
# The holder is gone: the claim is free again.
section "claims after L2-QEMU exited"
qx lock-released-on-exit '^rc=0 out=$' -device "virtio-i2c-rust-pci,host=/dev/i2c-$SMBNR,address=0x50"
phase l1-end
exit 0
