#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The inner guest (L2) of tests/hostguest/run.sh, run as /test.sh by the
# base initramfs.  L2's QEMU runs inside the host guest (L1) with
#   virtio-i2c-rust-pci (PCI 00:08) host=<L1's i801 SMBus>, address=0x50,,0x58,,0x5c
#   virtio-i2c-rust-pci (PCI 00:09) host=<L1's i2c-stub>, address=0x32,,0x33
#   host-i2cdev 0x4a -> L1's i2c-virtio adapter, client 0x50 (an at24c of L0)
#   host-i2cdev 0x4b -> L1's i2c-virtio adapter, client 0x51 (absent)
#   host-i2cdev 0x4c -> L1's i801 SMBus, client 0x52 (an SPD EEPROM of L0)
#   host-i2cdev 0x4d -> L1's i2c-virtio adapter, client 0x52 (L0's preset
#                       at24c)
#   virtio-i2c-rust-pci (behind the root port 00:0a, id "hot")
#                       host=<L1's i2c-virtio>, address=0x48 (L0's tmp105),
#                       unplugged by L1 at "SYNC unplug"
# on L2's own ICH9 SMBus.  /files/hg.env has the bytes of L0's preset
# images (PRE_*).
#
# Every check is one line with its action and its expectation, as in l1.sh:
#   chk NAME ERE CMD...        run CMD; "rc=N out=..." must match ERE
#   report NAME ERE RC OUT     a result this script worked out itself
#   stderr_has NAME MIN ERE    at least MIN lines of L2-QEMU's stderr (which
#                              L1 relays) must match ERE; written right
#                              after the action that must cause them
# run.sh evaluates them.  "SYNC <what>" lines are for L1, which watches
# this output and injects faults on its side.
#
# Nested TCG makes every process expensive (an exec of a dynamically linked
# program takes seconds), so this script uses busybox's i2cget, i2cset and
# i2ctransfer applets (the same ioctls as i2c-tools: I2C_SMBUS and
# I2C_RDWR), shell builtins, and one fork per command.  There is no
# per-command timeout here: L1 bounds the whole run, and a missing CHK line
# shows which command hung.

# The guest's /init names the real i2c-tools with shell functions; drop
# them here so the busybox applets run.
unset -f i2cdetect i2cget i2cset i2cdump i2ctransfer
[ -f /files/hg.env ] && . /files/hg.env

up() {
    read -r u _ </proc/uptime
    echo "$u"
}
echo "L2: SYNC start uptime=$(up)"

section() { echo "SECTION $*"; }
chk() {
    l=$1 e=$2
    shift 2
    printf 'EXP %s %s\n' "$l" "$e"
    o=$("$@" 2>&1)
    r=$?
    # shellcheck disable=SC2086 # word splitting joins the lines
    set -- $o
    echo "CHK $l rc=$r out=$*"
    return $r
}
report() {
    printf 'EXP %s %s\n' "$1" "$2"
    echo "CHK $1 rc=$3 out=$4"
}
stderr_has() { printf 'EXPLOG %s %s %s\n' "$1" "$2" "$3"; }

SMB="" PT="" SPT=""
for d in /sys/bus/i2c/devices/i2c-*; do
    [ -e "$d/name" ] || continue
    read -r n <"$d/name"
    echo "L2: ${d##*/}: $n"
    case $n in
    "SMBus I801 adapter"*) SMB=${d##*/i2c-} ;;
    esac
done
# The two i2c-virtio adapters, by the PCI slot of their device.
for d in /sys/bus/pci/devices/0000:00:08.0/virtio*/i2c-*; do
    [ -e "$d" ] && PT=${d##*/i2c-}
done
for d in /sys/bus/pci/devices/0000:00:09.0/virtio*/i2c-*; do
    [ -e "$d" ] && SPT=${d##*/i2c-}
done
echo "L2: adapters: smbus=i2c-$SMB passthrough(i801)=i2c-$PT passthrough(stub)=i2c-$SPT"
if [ -z "$SMB" ] || [ -z "$PT" ] || [ -z "$SPT" ]; then
    echo "L2: adapter missing"
    exit 1
fi
set -f # from here on, word splitting only joins lines
section "nested: L2's adapters"
chk l2:pt-funcs '^rc=0 out=(.* )?I2C +yes .*SMBus [Rr]ead [Bb]yte +yes' i2cdetect -F "$PT"
chk l2:stub-pt-funcs '^rc=0 out=(.* )?I2C +yes .*SMBus [Rr]ead [Bb]yte +yes' i2cdetect -F "$SPT"

# --- the bytes L0 put into its preset EEPROMs before the boot (run.sh made
# the images; hg.env has them), read through both pass-through paths
section "presets: L0's images, read in L2 through the pass-through"
# L2 i2c-virtio -> virtio-i2c-rust (L1) -> L1's i801 (an I2C block read of
# 16, translated) -> L0's at24c 0x5c
chk preset:l2-pt@0x5c "^rc=0 out=$PRE_SMB_40_16\$" i2ctransfer -y "$PT" w1@0x5c 0x40 r16@0x5c
chk preset:l2-pt-byte@0x5c "^rc=0 out=$PRE_SMB_A7\$" i2cget -y "$PT" 0x5c 0xa7 b
# L2 ICH9 SMBus -> host-i2cdev 0x4d (L1) -> L1's i2c-virtio -> L0's at24c 0x52
chk preset:l2-hic-byte@0x52 "^rc=0 out=$PRE_VIRT_60\$" i2cget -y "$SMB" 0x4d 0x60 b
chk preset:l2-hic-word@0x52 "^rc=0 out=$PRE_VIRT_80W\$" i2cget -y "$SMB" 0x4d 0x80 w

# --- the chain: L2 i2c-virtio -> virtio-i2c-rust (L1) -> L1's i801 -> L0's SPD EEPROM
section "L2 i2c-virtio -> virtio-i2c-rust-pci,host=L1 i801 (SMBus translation) -> L0 SPD EEPROM 0x50"
chk l2:pt-reads-l1-preset '^rc=0 out=0x01$' i2cget -y "$PT" 0x50 0x10 b
chk l2:pt-write-byte '^rc=0 out=$' i2cset -y "$PT" 0x50 0x10 0x5a b
chk l2:pt-read-byte '^rc=0 out=0x5a$' i2cget -y "$PT" 0x50 0x10 b
chk l2:pt-write-byte2 '^rc=0 out=$' i2cset -y "$PT" 0x50 0x11 0xc3 b
chk l2:pt-read-word '^rc=0 out=0xc35a$' i2cget -y "$PT" 0x50 0x10 w
chk l2:pt-i2ctransfer-write '^rc=0 out=$' i2ctransfer -y "$PT" w3@0x50 0x20 0x11 0x22
chk l2:pt-i2ctransfer-w1r2 '^rc=0 out=0x11 0x22$' i2ctransfer -y "$PT" w1@0x50 0x20 r2@0x50

# --- L2 ICH9 SMBus -> host-i2cdev (L1) -> L1's i2c-virtio -> L0's at24c
section "L2 ICH9 SMBus -> host-i2cdev 0x4a -> L1 i2c-virtio 0x50 -> L0 at24c"
chk l2:hic-reads-l1-preset '^rc=0 out=0x02$' i2cget -y "$SMB" 0x4a 0x10 b
chk l2:hic-write-byte '^rc=0 out=$' i2cset -y "$SMB" 0x4a 0x10 0xa5 b
chk l2:hic-read-byte '^rc=0 out=0xa5$' i2cget -y "$SMB" 0x4a 0x10 b
chk l2:hic-write-byte2 '^rc=0 out=$' i2cset -y "$SMB" 0x4a 0x11 0x3c b
# a word read through host-i2cdev: the refill read
chk l2:hic-read-word '^rc=0 out=0x3ca5$' i2cget -y "$SMB" 0x4a 0x10 w
# --- L2 ICH9 SMBus -> host-i2cdev (L1) -> L1's i801 -> L0's SPD EEPROM 0x52
chk l2:hic2-reads-l1-preset '^rc=0 out=0x03$' i2cget -y "$SMB" 0x4c 0x10 b

# --- L2 i2c-virtio -> virtio-i2c-rust (L1) -> L1's i2c-stub 0x32.  i2c-stub
# keeps a 16-bit word per register, so the SMBus transaction that the
# translation chose shows: a word write or read at 0x20 touches the word
# 0x20 only, an I2C block transfer the low bytes of consecutive words.
section "L2 i2c-virtio -> virtio-i2c-rust-pci,host=L1 i2c-stub (SMBus translation) -> i2c-stub 0x32"
chk l2:stub-reads-l1-preset '^rc=0 out=0x6b$' i2cget -y "$SPT" 0x32 0x10 b
chk l2:stub-write-byte '^rc=0 out=$' i2cset -y "$SPT" 0x32 0x10 0xa6 b
chk l2:stub-read-byte '^rc=0 out=0xa6$' i2cget -y "$SPT" 0x32 0x10 b
chk l2:stub-write-word '^rc=0 out=$' i2cset -y "$SPT" 0x32 0x20 0xbeef w
chk l2:stub-read-word '^rc=0 out=0xbeef$' i2cget -y "$SPT" 0x32 0x20 w
# [W1 R2]: read word data (an I2C block read of 2 would give 0xef 0x00)
chk l2:stub-i2ctransfer-w1r2 '^rc=0 out=0xef 0xbe$' i2ctransfer -y "$SPT" w1@0x32 0x20 r2@0x32
# [W5]: an I2C block write of 4; [W1 R4]: an I2C block read of 4
chk l2:stub-i2ctransfer-block-write '^rc=0 out=$' i2ctransfer -y "$SPT" w5@0x32 0x40 0x01 0x02 0x03 0x04
chk l2:stub-i2ctransfer-block-read '^rc=0 out=0x01 0x02 0x03 0x04$' i2ctransfer -y "$SPT" w1@0x32 0x40 r4@0x32

# --- faults that need nothing from L1
section "faults (L2 sees an error, L2-QEMU logs it, the next request is served)"
# an allowed address nobody answers on the host
chk fault:pt-nack-absent '^rc=[1-9][0-9]* out=.*(Read failed|failed)' i2cget -y "$PT" 0x58 0x00 b
stderr_has fault:pt-nack-logged 1 'vi2c_qemu_nack virtio-i2c-rust .*no acknowledge from 0x58'
chk fault:pt-after-nack '^rc=0 out=0x5a$' i2cget -y "$PT" 0x50 0x10 b
# an address outside the policy
chk fault:pt-outside-policy '^rc=[1-9][0-9]* out=.*failed' i2cget -y "$PT" 0x51 0x00 b
stderr_has fault:pt-policy-logged 1 '^virtio-i2c-rust .*targets 0x51, which is not allowed'
chk fault:pt-after-policy '^rc=0 out=0x5a$' i2cget -y "$PT" 0x50 0x10 b
# a host client nobody answers
chk fault:hic-nack-absent '^rc=[1-9][0-9]* out=.*failed' i2cget -y "$SMB" 0x4b 0x00 b
stderr_has fault:hic-nack-logged 1 'vi2c_qemu_nack host-i2cdev at 0x4b: .*no acknowledge'
chk fault:hic-after-nack '^rc=0 out=0xa5$' i2cget -y "$SMB" 0x4a 0x10 b
# a group with no SMBus equivalent on the SMBus-only host adapter
# (busybox's i2ctransfer exits 0 when the kernel reports 0 of 2 messages)
chk fault:pt-no-smbus-equivalent '^rc=([1-9][0-9]* out=.*failed|[0-9]+ out=.*only 0/2 messages sent)' i2ctransfer -y "$PT" w1@0x50 0x10 r40@0x50
stderr_has fault:pt-no-smbus-logged 1 'warning: virtio-i2c-rust .*host=/dev/i2c-[0-9]+: .*SMBus-only and has no SMBus transaction for \[W1@0x50 R40@0x50\]'
chk fault:pt-after-no-smbus '^rc=0 out=0x5a$' i2cget -y "$PT" 0x50 0x10 b
# an allowed address that is no chip of i2c-stub: the stub's ENODEV
chk fault:stub-absent '^rc=[1-9][0-9]* out=.*failed' i2cget -y "$SPT" 0x33 0x00 b
stderr_has fault:stub-absent-logged 1 'warning: virtio-i2c-rust .*host=/dev/i2c-[0-9]+: .*I2C_SMBUS on /dev/i2c-[0-9]+ failed: No such device'
chk fault:stub-after-absent '^rc=0 out=0xa6$' i2cget -y "$SPT" 0x32 0x10 b

# --- L1 turns the i801's I/O decoding off: the kernel's i801 driver fails
# every transfer (EBUSY); then on again.
section "kernel errors: L1 turns the i801's PCI I/O decoding off, then on"
echo "L2: SYNC io-off"
n=0
while [ $n -lt 200 ]; do
    o=$(i2cget -y "$PT" 0x50 0x10 b 2>&1) || break
    n=$((n + 1))
    echo "L2: poll $n: $o"
    sleep 0.25
done
echo "L2: io-off after $n polls"
chk fault:pt-kernel-error '^rc=[1-9][0-9]* out=.*failed' i2cget -y "$PT" 0x50 0x10 b
stderr_has fault:pt-kernel-error-logged 1 'warning: virtio-i2c-rust .*host=/dev/i2c-[0-9]+: .*I2C_SMBUS on /dev/i2c-[0-9]+ failed: Device or resource busy'
chk fault:hic2-kernel-error '^rc=[1-9][0-9]* out=.*failed' i2cget -y "$SMB" 0x4c 0x10 b
stderr_has fault:hic2-kernel-error-logged 1 'warning: host-i2cdev.*host=/dev/i2c-[0-9]+: .*Device or resource busy'
# FINISH has no status in QEMU's I2C target API: a write that fails on the
# host is only logged (the read above and this write: two warnings), and
# the value stays what it was (hic2-after-kernel-error below, and L1's
# readback).
chk fault:hic2-write-not-reported '^rc=0 out=$' i2cset -y "$SMB" 0x4c 0x10 0x77 b
stderr_has fault:hic2-lost-write-logged 2 'warning: host-i2cdev.*host=/dev/i2c-[0-9]+: .*Device or resource busy'
chk fault:pt-kernel-error-again '^rc=[1-9][0-9]* out=.*failed' i2cget -y "$PT" 0x50 0x10 b
# the stub's pass-through is another adapter: it goes on serving
chk fault:stub-unaffected '^rc=0 out=0xa6$' i2cget -y "$SPT" 0x32 0x10 b
echo "L2: SYNC io-on"
n=0
while [ $n -lt 200 ]; do
    o=$(i2cget -y "$PT" 0x50 0x10 b 2>&1) && break
    n=$((n + 1))
    echo "L2: poll $n: $o"
    sleep 0.25
done
echo "L2: io-on after $n polls"
chk fault:pt-after-kernel-error '^rc=0 out=0x5a$' i2cget -y "$PT" 0x50 0x10 b
chk fault:hic2-after-kernel-error '^rc=0 out=0x03$' i2cget -y "$SMB" 0x4c 0x10 b

# --- L1 unbinds the i801 driver while this QEMU holds /dev/i2c-N open.
section "the i801 driver unbound under the running L2-QEMU"
echo "L2: SYNC unbind"
ok=0 bad=0 n=0 last=""
while [ $n -lt 8 ]; do
    if last=$(i2cget -y "$PT" 0x50 0x10 b 2>&1); then
        ok=$((ok + 1))
    else
        bad=$((bad + 1))
    fi
    n=$((n + 1))
    sleep 0.5
done
# shellcheck disable=SC2086 # word splitting joins the lines
set -- $last
report unbind:pt-keeps-serving '^rc=0 out=ok=8 failed=0 last=0x5a$' 0 "ok=$ok failed=$bad last=$*"
chk unbind:pt-next-request '^rc=0 out=0x5a$' i2cget -y "$PT" 0x50 0x10 b
chk unbind:hic2-next-request '^rc=0 out=0x03$' i2cget -y "$SMB" 0x4c 0x10 b
chk unbind:hic-next-request '^rc=0 out=0xa5$' i2cget -y "$SMB" 0x4a 0x10 b

# --- L1 unplugs the third adapter (behind a PCIe root port, host= L1's
# i2c-virtio, client 0x48: L0's tmp105) while four loops of transfers run
# on it.  Each loop ends when the adapter goes away (or after 150 s).
section "device_del of a host-mode adapter with transfers in flight"
HOT=""
set +f
for d in /sys/bus/i2c/devices/i2c-*; do
    case $(cd "$d" && pwd -P) in
    */0000:00:0a.0/*) HOT=${d##*/i2c-} ;;
    esac
done
set -f
echo "L2: hot-pluggable adapter: i2c-$HOT"
chk unplug:hot-serves '^rc=0 out=0x[0-9a-f]{2} 0x[0-9a-f]{2}$' i2ctransfer -y "$HOT" w1@0x48 0x00 r2@0x48
t_stop=$(($(cut -d. -f1 /proc/uptime) + 150))
for k in 1 2 3 4; do
    (
        n=0
        while [ "$(cut -d. -f1 /proc/uptime)" -lt $t_stop ] &&
            i2ctransfer -y "$HOT" w1@0x48 0x00 r32@0x48 >/dev/null 2>&1; do
            n=$((n + 1))
        done
        echo "$n" >"/tmp/loop$k"
    ) &
done
sleep 1
echo "L2: SYNC unplug"
wait
# The loops also end on a failed transfer: wait for the adapter itself.
n=0
while [ -e "/sys/bus/i2c/devices/i2c-$HOT" ] && [ $n -lt 120 ]; do
    sleep 0.5
    n=$((n + 1))
done
total=0
for k in 1 2 3 4; do
    read -r n <"/tmp/loop$k"
    total=$((total + n))
done
gone=1
[ -n "$HOT" ] && [ -e "/sys/bus/i2c/devices/i2c-$HOT" ] && gone=0
report unplug:guest-loops-end-with-the-adapter '^rc=0 out=[1-9][0-9]* transfers, then the adapter was gone$' \
    "$([ $gone = 1 ] && echo 0 || echo 1)" "$total transfers, then the adapter was $([ $gone = 1 ] && echo gone || echo still there)"
chk unplug:others-still-serve '^rc=0 out=0xa6$' i2cget -y "$SPT" 0x32 0x10 b
echo "L2: SYNC done uptime=$(up)"
exit 0
