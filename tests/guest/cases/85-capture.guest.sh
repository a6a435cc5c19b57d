#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of 85-capture: a session on the emulated bus of a
# virtio-i2c-rust-pci that allows 0x48 and 0x50 and captures every
# transfer (EEPROM at 0x50, TMP105 at 0x48).  The host side decodes the
# capture with tshark and compares it with 85-capture.expected.

bus=""
for d in /sys/bus/i2c/devices/i2c-*; do
    case "$(cat "$d/name")" in
    "i2c_virtio at virtio bus 0") bus=${d##*/i2c-} ;;
    esac
done

echo "--- begin"
if [ -z "$bus" ]; then
    echo "no i2c_virtio adapter"
    echo "--- end"
    exit 1
fi
echo "--- i2cdetect -y -r BUS 0x40 0x57 (reads; only 0x48 and 0x50 allowed)"
i2cdetect -y -r "$bus" 0x40 0x57 2>&1
echo "rc=$?"
echo "--- an EEPROM page write, and reads back"
i2ctransfer -y "$bus" w5@0x50 0x10 0x11 0x22 0x33 0x44 2>&1
echo "rc=$?"
i2cget -y "$bus" 0x50 0x12 b 2>&1
echo "rc=$?"
i2ctransfer -y "$bus" w1@0x50 0x10 r4 2>&1
echo "rc=$?"
echo "--- a refused address, and a group that reaches a refused one"
i2cget -y "$bus" 0x51 0x00 b 2>&1
echo "rc=$?"
i2ctransfer -y "$bus" w1@0x48 0x00 r2@0x48 w1@0x52 0x00 2>&1
echo "rc=$?"
echo "--- 300 reads in a row (none may be missing from the capture)"
n=0
while [ $n -lt 300 ]; do
    i2ctransfer -y "$bus" w1@0x50 0x10 r1 >/dev/null 2>&1 || break
    n=$((n + 1))
done
echo "$n done"
echo "--- end"
