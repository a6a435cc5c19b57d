#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The host guest (L1) of tests/hostguest/run.sh, run as /test.sh by the base
# initramfs.  L1 is a real Linux host with two real i2c-dev adapters:
#   - "SMBus I801 adapter at ..." (i2c-i801, SMBus-only; L0's ICH9 SMBus
#     with its SPD EEPROMs at 0x50-0x57)
#   - "i2c_virtio at virtio bus ..." (i2c-virtio, full I2C; L0's
#     virtio-i2c-rust-pci emulated bus with an at24c at 0x50 and a tmp105
#     at 0x48)
# It runs the Rust linux_adapter tests against both, small QEMU runs for the
# claims, then the patched QEMU for an inner guest (L2, tests/hostguest/l2.sh)
# with host pass-through to both adapters, injects faults while L2 runs and
# reads the cells back after L2 has powered off.
#
# Output for the driver: "PHASE <name>" lines (timing), "CHK <label> rc=N
# out=..." results, "RT| " Rust test output, "L2| " L2's serial console and
# "L2ERR| " L2-QEMU's stderr.  The driver checks the values; this script
# only reports (it exits 0 unless the setup itself fails).
#
# Shares (9p, read-only): hostusr = L0's /usr; hg = the staging directory
# of run.sh (qemu-system-x86_64, firmware/, vmlinux, l2.initrd,
# linux_adapter).  Settings come from /files/hg.env.

HG_L2_TIMEOUT=720 HG_RT_TIMEOUT=240 HG_L2_BOOT_TIMEOUT=420
[ -f /files/hg.env ] && . /files/hg.env
# i2c-tools are called by path: busybox sh runs its own i2c applets before
# anything on PATH.

up() { cut -d' ' -f1 /proc/uptime; }
secs() { u=$(up); echo "${u%.*}"; }
phase() { echo "PHASE $1 uptime=$(up)"; }
oneline() { tr '\n' ' ' | sed 's/ *$//'; }
# chk LABEL CMD...: run CMD (at most 30 s) and report it on one line.
chk() {
    l=$1
    shift
    o=$(timeout 30 "$@" 2>&1)
    r=$?
    echo "CHK $l rc=$r out=$(echo "$o" | oneline)"
    return $r
}

phase l1-setup
echo "L1: kernel $(uname -r), $(nproc) CPUs, $(grep MemTotal /proc/meminfo | tr -s ' ')"
for m in 9pnet_virtio 9p at24; do
    modprobe "$m" || echo "L1: modprobe $m failed"
done

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
    SMBNR="" VIRTNR="" SMBNAME="" VIRTNAME=""
    for d in /sys/bus/i2c/devices/i2c-*; do
        [ -e "$d/name" ] || continue
        n=$(cat "$d/name")
        case $n in
        "SMBus I801 adapter"*) SMBNR=${d##*/i2c-} SMBNAME=$n ;;
        "i2c_virtio"*) VIRTNR=${d##*/i2c-} VIRTNAME=$n ;;
        esac
    done
}
find_adapters
echo "CHK l1-adapters rc=0 out=smbus=i2c-$SMBNR [$SMBNAME] virtio=i2c-$VIRTNR [$VIRTNAME]"
if [ -z "$SMBNR" ] || [ -z "$VIRTNR" ]; then
    /usr/sbin/i2cdetect -l
    echo "L1: an adapter is missing"
    exit 1
fi
PCI=$(readlink -f "/sys/bus/i2c/devices/i2c-$SMBNR")
PCI=${PCI%/i2c-*}
PCI=${PCI##*/}
echo "L1: i801 PCI function $PCI"
/usr/sbin/i2cdetect -l
chk l1-smb-funcs sh -c "/usr/sbin/i2cdetect -F $SMBNR | grep -E '^(I2C|SMBus Quick|SMBus Read Word|I2C Block Read)'"
chk l1-virt-funcs sh -c "/usr/sbin/i2cdetect -F $VIRTNR | grep -E '^(I2C|SMBus Quick|SMBus Read Word)'"
chk l1-virt-detect /usr/sbin/i2cdetect -y "$VIRTNR"
chk l1-smb-detect /usr/sbin/i2cdetect -y "$SMBNR"

# --- the Rust integration tests on both adapters ----------------------------
phase rust-tests
(
    timeout "$HG_RT_TIMEOUT" chroot $H /usr/bin/env \
        VI2C_TEST_SMBUS_DEV="$SMBNAME" VI2C_TEST_SMBUS_ADDR=0x50 \
        VI2C_TEST_I2C_DEV="$VIRTNAME" VI2C_TEST_I2C_ADDR=0x50 \
        VI2C_TEST_ABSENT_ADDR=0x0b \
        VI2C_TEST_BUSY_DEV="/dev/i2c-$SMBNR" VI2C_TEST_BUSY_ADDR=0x51 \
        /hg/linux_adapter --ignored --test-threads=1 2>&1
    echo $? >/tmp/rt.rc
) | awk '{ print "RT| " $0; fflush() }'
echo "CHK rust-tests rc=$(cat /tmp/rt.rc) out="

# --- claims through QEMU itself: a kernel driver, and another process --------
# qx LABEL QEMU-ARGS...: start QEMU stopped (-S), quit from the monitor at
# once.  rc 0: every device realized (claims taken); rc 1: an error.
qx() {
    l=$1
    shift
    o=$(printf 'quit\n' | timeout 60 chroot $H $Q -M q35 -accel tcg -m 128 \
        -nodefaults -display none -serial none -S -monitor stdio \
        -L /hg/firmware "$@" 2>&1)
    r=$?
    echo "CHK $l rc=$r out=$(echo "$o" | grep -v -e '^QEMU .* monitor' -e '^(qemu)' | oneline)"
}
phase qemu-claims
echo "24c02 0x53" >"/sys/bus/i2c/devices/i2c-$SMBNR/new_device"
chk l1-at24-bound readlink "/sys/bus/i2c/devices/$SMBNR-0053/driver"
qx busy-pt -device "virtio-i2c-rust-pci,host=/dev/i2c-$SMBNR,address=0x53"
qx busy-hic -device "host-i2cdev,bus=i2c,address=0x4c,host=/dev/i2c-$SMBNR,hostaddr=0x53"
qx busy-hic-force -device "host-i2cdev,bus=i2c,address=0x4c,host=/dev/i2c-$SMBNR,hostaddr=0x53,force=on"
echo 0x53 >"/sys/bus/i2c/devices/i2c-$SMBNR/delete_device"

# --- cells the inner guest reads first: proof it reads the real chips ------
phase l2-preset
/usr/sbin/i2cset -y "$SMBNR" 0x50 0x10 0x01 b
/usr/sbin/i2cset -y "$SMBNR" 0x50 0x11 0x00 b
/usr/sbin/i2cset -y "$SMBNR" 0x50 0x20 0x0000 w
/usr/sbin/i2cset -y "$SMBNR" 0x52 0x10 0x03 b
/usr/sbin/i2cset -y "$VIRTNR" 0x50 0x10 0x02 b
/usr/sbin/i2cset -y "$VIRTNR" 0x50 0x11 0x00 b
chk l1-preset-smb /usr/sbin/i2cget -y "$SMBNR" 0x50 0x10 b
chk l1-preset-smb52 /usr/sbin/i2cget -y "$SMBNR" 0x52 0x10 b
chk l1-preset-virt /usr/sbin/i2cget -y "$VIRTNR" 0x50 0x10 b

# --- the nested chain ------------------------------------------------------------
phase l2
rm -f /tmp/l2.out /tmp/l2.err /tmp/l2.rc
: >/tmp/l2.out
: >/tmp/l2.err
L2ARGS="-M q35 -accel tcg -m 512 -smp 1 -nodefaults -display none -serial stdio
 -no-reboot -L /hg/firmware -kernel /hg/vmlinux -initrd /hg/l2.initrd
 -device virtio-i2c-rust-pci,host=/dev/i2c-$SMBNR,address=0x50,,0x58
 -device host-i2cdev,bus=i2c,address=0x4a,host=/dev/i2c-$VIRTNR,hostaddr=0x50
 -device host-i2cdev,bus=i2c,address=0x4b,host=/dev/i2c-$VIRTNR,hostaddr=0x51
 -device host-i2cdev,bus=i2c,address=0x4c,host=/dev/i2c-$SMBNR,hostaddr=0x52
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
    echo "CHK l2-boot rc=0 out=L2 test started $(awk -v a="$T_L2" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }') s after its QEMU"
    # Another process (this one) cannot take what L2-QEMU holds.
    qx lock-pt -device "virtio-i2c-rust-pci,host=/dev/i2c-$SMBNR,address=0x50"
    qx lock-hic -device "host-i2cdev,bus=i2c,address=0x4a,host=/dev/i2c-$VIRTNR,hostaddr=0x50"
else
    echo "CHK l2-boot rc=1 out=no start marker"
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
    chk l1-dmesg-busy sh -c "dmesg | grep -c 'SMBus is busy'"
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
        echo "CHK l1-unbind-blocks rc=1 out=unbind completed at once: $(cat /tmp/unbind.done)"
    else
        echo "CHK l1-unbind-blocks rc=0 out=blocked in: $(head -n 3 /proc/$UNBIND_PID/stack 2>/dev/null | sed 's/^\[<0>\] //' | oneline)"
    fi
    chk l1-unbind-devnode sh -c "ls /dev/i2c-$SMBNR 2>&1; ls /sys/bus/i2c/devices/"
fi

# L2 powers off when its test is done.
t_end=$(($(secs) + 240))
[ $L2_OK = 1 ] || t_end=$(secs)
while [ ! -f /tmp/l2.rc ] && [ "$(secs)" -lt "$t_end" ]; do
    flush_l2
    sleep 0.2
done
if [ ! -f /tmp/l2.rc ]; then
    dump_l2_state
    echo "L1: L2-QEMU still running; killing it"
    for p in $(pidof qemu-system-x86_64); do kill "$p"; done
    sleep 2
fi
flush_l2
T_L2END=$(up)
# QEMU exits with 0 on SIGTERM (from timeout or kill): say so.
killed=$(grep -o 'terminating on signal [0-9]*' /tmp/l2.err | head -n1)
echo "CHK l2-qemu-exit rc=$(cat /tmp/l2.rc 2>/dev/null || echo none) out=L2 wall $(awk -v a="$T_L2" -v b="$T_L2END" 'BEGIN { printf "%.1f", b - a }') s${killed:+ ($killed)}"

if [ -n "${UNBIND_PID:-}" ]; then
    t_end=$(($(secs) + 20))
    while [ ! -f /tmp/unbind.done ] && [ "$(secs)" -lt "$t_end" ]; do sleep 0.2; done
    if [ -f /tmp/unbind.done ]; then
        echo "CHK l1-unbind-after-exit rc=0 out=unbind returned $(cat /tmp/unbind.done); L2-QEMU's exit seen at uptime $T_L2END"
        # Bind the driver again for the readback (a bind would block behind
        # an unbind that is still waiting).
        echo "$PCI" >/sys/bus/pci/drivers/i801_smbus/bind
        find_adapters
        echo "CHK l1-rebind rc=$([ -n "$SMBNR" ] && echo 0 || echo 1) out=smbus=i2c-$SMBNR [$SMBNAME]"
    else
        echo "CHK l1-unbind-after-exit rc=1 out=still blocked 20 s after L2-QEMU exited"
        SMBNR=none
    fi
fi

# --- what L2 wrote, read directly by L1 ---------------------------------------
phase readback
chk l1-after-smb-10 /usr/sbin/i2cget -y "$SMBNR" 0x50 0x10 b
chk l1-after-smb-11 /usr/sbin/i2cget -y "$SMBNR" 0x50 0x11 b
chk l1-after-smb-20 /usr/sbin/i2cget -y "$SMBNR" 0x50 0x20 w
chk l1-after-smb52-10 /usr/sbin/i2cget -y "$SMBNR" 0x52 0x10 b
chk l1-after-virt-10 /usr/sbin/i2cget -y "$VIRTNR" 0x50 0x10 b
chk l1-after-virt-group /usr/sbin/i2ctransfer -y "$VIRTNR" w1@0x50 0x10 r2@0x50
# The holder is gone: the claim is free again.
qx lock-released -device "virtio-i2c-rust-pci,host=/dev/i2c-$SMBNR,address=0x50"
phase l1-end
exit 0
