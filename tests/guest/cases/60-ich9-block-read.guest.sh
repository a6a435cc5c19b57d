#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of 60-ich9-block-read: I2C block write and read on the ICH9
# SMBus.  Everything between "--- begin" and "--- end" is compared exactly.

bus=""
for d in /sys/bus/i2c/devices/i2c-*; do
    case "$(cat "$d/name")" in
    "SMBus I801 adapter"*) bus=${d##*/i2c-} ;;
    esac
done

echo "--- begin"
if [ -z "$bus" ]; then
    echo "no i801 adapter"
    echo "--- end"
    exit 1
fi
echo "--- i2cset -y BUS 0x58 0x20 0x11 .. 0x88 i (I2C block write of 8, twice)"
i2cset -y "$bus" 0x58 0x20 0x11 0x22 0x33 0x44 0x55 0x66 0x77 0x88 i 2>&1
echo "rc=$?"
i2cset -y "$bus" 0x58 0x28 0x99 0xaa 0xbb 0xcc 0xdd 0xee 0xf0 0xf1 i 2>&1
echo "rc=$?"
echo "--- i2cget -y BUS 0x58 0x20 i 16 (I2C block read)"
i2cget -y "$bus" 0x58 0x20 i 16 2>&1
echo "rc=$?"
echo "--- i2cget -y BUS 0x58 0x2d i 3"
i2cget -y "$bus" 0x58 0x2d i 3 2>&1
echo "rc=$?"
echo "--- i2cget -y BUS 0x58 0x2f b (the last byte alone)"
i2cget -y "$bus" 0x58 0x2f b 2>&1
echo "rc=$?"
echo "--- end"
