#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of 80-microvm: i2c-tools on virtio0's bus (EEPROM at 0x50,
# TMP105 reached as 0x49); the mode (vi2c.mode= on the kernel command line)
# says which boot this is.  Everything between "--- begin" and "--- end"
# is compared exactly.

mode=$(sed -n 's/.*vi2c\.mode=\([a-z0-9-]*\).*/\1/p' /proc/cmdline)
adapter() {
    for d in /sys/bus/i2c/devices/i2c-*; do
        [ "$(cat "$d/name")" = "i2c_virtio at virtio bus 0" ] && echo "${d##*/i2c-}"
    done
}
# Feature bits of virtio0 as the guest negotiated them: bit 0
# (ZERO_LENGTH_REQUEST) and bit 32 (VERSION_1: a virtio 1.x transport).
features() {
    f=$(cat /sys/bus/virtio/devices/virtio0/features)
    echo "ZERO_LENGTH_REQUEST=$(echo "$f" | cut -c1) VERSION_1=$(echo "$f" | cut -c33)"
}
run() { # run CMD...: runs it, prints its output and "rc=N"
    "$@" 2>&1
    echo "rc=$?"
}

echo "--- begin"
echo "=== $mode"
case $mode in
legacy-driver | legacy-refused)
    rmmod i2c_virtio && insmod "/lib/modules/$(uname -r)/i2c-virtio-5.15/i2c-virtio.ko" ||
        echo "cannot swap the driver"
    ;;
esac
bus=$(adapter)
echo "adapter: ${bus:+present}; $(features)"
[ -n "$bus" ] || { echo "--- end"; exit 1; }
echo "--- i2cdetect -y -r BUS"
run i2cdetect -y -r "$bus"
echo "--- i2cset -y BUS 0x50 0x10 0x5a b; i2cget -y BUS 0x50 0x10 b"
run i2cset -y "$bus" 0x50 0x10 0x5a b
run i2cget -y "$bus" 0x50 0x10 b
echo "--- tmp105 as 0x49: i2cget -y BUS 0x49 0x03 w"
run i2cget -y "$bus" 0x49 0x03 w
echo "--- a repeated START to the other client: i2ctransfer -y BUS w1@0x50 0x10 r2@0x49"
run i2ctransfer -y "$bus" w1@0x50 0x10 r2@0x49
echo "--- not allowed: i2cget -y BUS 0x48 0x03 w"
run i2cget -y "$bus" 0x48 0x03 w
echo "--- end"
