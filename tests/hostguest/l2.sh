#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The inner guest (L2) of tests/hostguest/run.sh, run as /test.sh by the
# base initramfs.  L2's QEMU runs inside the host guest (L1) with
#   virtio-i2c-rust-pci,host=<L1's i801 SMBus>,address=0x50,,0x58
#   host-i2cdev 0x4a -> L1's i2c-virtio adapter, client 0x50 (an at24c of L0)
#   host-i2cdev 0x4b -> L1's i2c-virtio adapter, client 0x51 (absent)
#   host-i2cdev 0x4c -> L1's i801 SMBus, client 0x52 (an SPD EEPROM of L0)
# on L2's own ICH9 SMBus.  This script only runs the i2c tools and reports
#   CHK <label> rc=<exit status> out=<stdout and stderr on one line>
# the driver (run.sh) compares the values.  "SYNC <what>" lines are for
# L1, which watches this output and injects faults on its side.
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

up() {
    read -r u _ </proc/uptime
    echo "$u"
}
echo "L2: SYNC start uptime=$(up)"

# chk LABEL CMD...: run CMD and report it on one line.
chk() {
    l=$1
    shift
    o=$("$@" 2>&1)
    r=$?
    # shellcheck disable=SC2086 # word splitting joins the lines
    set -- $o
    echo "CHK $l rc=$r out=$*"
    return $r
}

SMB="" PT=""
for d in /sys/bus/i2c/devices/i2c-*; do
    [ -e "$d/name" ] || continue
    read -r n <"$d/name"
    echo "L2: ${d##*/}: $n"
    case $n in
    "SMBus I801 adapter"*) SMB=${d##*/i2c-} ;;
    "i2c_virtio"*) PT=${d##*/i2c-} ;;
    esac
done
echo "L2: adapters: smbus=i2c-$SMB passthrough=i2c-$PT"
if [ -z "$SMB" ] || [ -z "$PT" ]; then
    echo "L2: adapter missing"
    exit 1
fi
set -f # from here on, word splitting only joins lines
chk pt-funcs i2cdetect -F "$PT"

# --- the chain: L2 i2c-virtio -> virtio-i2c-rust (L1) -> L1's i801 -> L0's SPD EEPROM
chk pt-read-preset i2cget -y "$PT" 0x50 0x10 b
chk pt-write i2cset -y "$PT" 0x50 0x10 0x5a b
chk pt-read i2cget -y "$PT" 0x50 0x10 b
chk pt-write2 i2cset -y "$PT" 0x50 0x11 0xc3 b
chk pt-word i2cget -y "$PT" 0x50 0x10 w
chk pt-xfer-write i2ctransfer -y "$PT" w3@0x50 0x20 0x11 0x22
chk pt-xfer-read i2ctransfer -y "$PT" w1@0x50 0x20 r2@0x50

# --- L2 ICH9 SMBus -> host-i2cdev (L1) -> L1's i2c-virtio -> L0's at24c
chk hic-read-preset i2cget -y "$SMB" 0x4a 0x10 b
chk hic-write i2cset -y "$SMB" 0x4a 0x10 0xa5 b
chk hic-read i2cget -y "$SMB" 0x4a 0x10 b
chk hic-write2 i2cset -y "$SMB" 0x4a 0x11 0x3c b
chk hic-word i2cget -y "$SMB" 0x4a 0x10 w
# --- L2 ICH9 SMBus -> host-i2cdev (L1) -> L1's i801 -> L0's SPD EEPROM 0x52
chk hic2-read-preset i2cget -y "$SMB" 0x4c 0x10 b

# --- faults that need nothing from L1
# an allowed address nobody answers on the host
chk pt-nack i2cget -y "$PT" 0x58 0x00 b
chk pt-after-nack i2cget -y "$PT" 0x50 0x10 b
# an address outside the policy
chk pt-policy i2cget -y "$PT" 0x51 0x00 b
chk pt-after-policy i2cget -y "$PT" 0x50 0x10 b
# a host client nobody answers
chk hic-nack i2cget -y "$SMB" 0x4b 0x00 b
chk hic-after-nack i2cget -y "$SMB" 0x4a 0x10 b
# a group with no SMBus equivalent on the SMBus-only host adapter
chk pt-nosmbus i2ctransfer -y "$PT" w1@0x50 0x10 r40@0x50
chk pt-after-nosmbus i2cget -y "$PT" 0x50 0x10 b

# --- L1 turns the i801's I/O decoding off: the kernel's i801 driver fails
# every transfer (EBUSY); then on again.
echo "L2: SYNC io-off"
n=0
while [ $n -lt 200 ]; do
    o=$(i2cget -y "$PT" 0x50 0x10 b 2>&1) || break
    n=$((n + 1))
    echo "L2: poll $n: $o"
    sleep 0.25
done
echo "L2: io-off after $n polls"
chk pt-io-off i2cget -y "$PT" 0x50 0x10 b
chk hic2-io-off i2cget -y "$SMB" 0x4c 0x10 b
chk hic2-io-write i2cset -y "$SMB" 0x4c 0x10 0x77 b
chk pt-io-off-again i2cget -y "$PT" 0x50 0x10 b
echo "L2: SYNC io-on"
n=0
while [ $n -lt 200 ]; do
    o=$(i2cget -y "$PT" 0x50 0x10 b 2>&1) && break
    n=$((n + 1))
    echo "L2: poll $n: $o"
    sleep 0.25
done
echo "L2: io-on after $n polls"
chk pt-io-on i2cget -y "$PT" 0x50 0x10 b
chk hic2-io-on i2cget -y "$SMB" 0x4c 0x10 b

# --- L1 unbinds the i801 driver while this QEMU holds /dev/i2c-N open.
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
echo "CHK pt-during-unbind rc=0 out=ok=$ok failed=$bad last=$*"
chk pt-after-unbind i2cget -y "$PT" 0x50 0x10 b
chk hic2-after-unbind i2cget -y "$SMB" 0x4c 0x10 b
chk hic-after-unbind i2cget -y "$SMB" 0x4a 0x10 b
echo "L2: SYNC done uptime=$(up)"
exit 0
