#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of 30-emulated-bus: i2c-tools on the emulated bus of
# virtio-i2c-rust-pci (EEPROM at 0x50, TMP105 at 0x48 set to 25.5 C).
# Everything between "--- begin" and "--- end" is compared exactly.
# 90-arm64-virt runs it too, in the arm64 guest (virtio-mmio and PCI).

# The virtio adapter, by name: adapter numbers depend on probe order.
bus=""
for d in /sys/bus/i2c/devices/i2c-*; do
    case "$(cat "$d/name")" in
    "i2c_virtio at virtio bus 0") bus=${d##*/i2c-} ;;
    esac
done

echo "--- begin"
echo "--- adapter"
if [ -z "$bus" ]; then
    echo "no i2c_virtio adapter"
    echo "--- end"
    exit 1
fi
cat "/sys/bus/i2c/devices/i2c-$bus/name"
echo "--- i2cdetect -y BUS"
i2cdetect -y "$bus" 2>&1
echo "rc=$?"
echo "--- i2cset -y BUS 0x50 0x10 0xa5 b; i2cget -y BUS 0x50 0x10 b"
i2cset -y "$bus" 0x50 0x10 0xa5 b 2>&1
echo "rc=$?"
i2cget -y "$bus" 0x50 0x10 b 2>&1
echo "rc=$?"
echo "--- page write: i2ctransfer -y BUS w17@0x50 0x20 0x00 0x11 .. 0xff"
i2ctransfer -y "$bus" w17@0x50 0x20 0x00 0x11 0x22 0x33 0x44 0x55 0x66 0x77 \
    0x88 0x99 0xaa 0xbb 0xcc 0xdd 0xee 0xff 2>&1
echo "rc=$?"
echo "--- sequential read: i2ctransfer -y BUS w1@0x50 0x20 r16"
i2ctransfer -y "$bus" w1@0x50 0x20 r16 2>&1
echo "rc=$?"
echo "--- tmp105 temperature: i2cget -y BUS 0x48 0x00 w"
i2cget -y "$bus" 0x48 0x00 w 2>&1
echo "rc=$?"
echo "--- tmp105 T_LOW, T_HIGH: i2cget -y BUS 0x48 0x02 w; i2cget -y BUS 0x48 0x03 w"
i2cget -y "$bus" 0x48 0x02 w 2>&1
echo "rc=$?"
i2cget -y "$bus" 0x48 0x03 w 2>&1
echo "rc=$?"
echo "--- EEPROM 0x00-0x01 := 0xde 0xad; tmp105 pointer := 0 (temperature)"
i2ctransfer -y "$bus" w3@0x50 0x00 0xde 0xad 2>&1
echo "rc=$?"
i2ctransfer -y "$bus" w1@0x48 0x00 2>&1
echo "rc=$?"
# One transfer: write the EEPROM's pointer, then a repeated START to the
# TMP105.  With a core that does not rescan the bus at a repeated START,
# the read goes to the EEPROM and returns 0xde 0xad.
echo "--- repeated START to another address: i2ctransfer -y BUS w1@0x50 0x00 r2@0x48"
i2ctransfer -y "$bus" w1@0x50 0x00 r2@0x48 2>&1
echo "rc=$?"
echo "--- absent address 0x30: i2cget -y BUS 0x30 0x00 b; i2ctransfer -y BUS w1@0x30 0x00"
i2cget -y "$bus" 0x30 0x00 b 2>&1
echo "rc=$?"
i2ctransfer -y "$bus" w1@0x30 0x00 2>&1
echo "rc=$?"
echo "--- then the next transfer works: i2cget -y BUS 0x50 0x10 b"
i2cget -y "$bus" 0x50 0x10 b 2>&1
echo "rc=$?"
echo "--- end"
