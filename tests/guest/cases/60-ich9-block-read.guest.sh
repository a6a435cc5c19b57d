#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of 60-ich9-block-read: I2C block write and read on the ICH9
# SMBus (at24c 0x58), then the same image read through the ICH9 SMBus and
# through i2c-virtio on virtio-i2c-rust (at24c 0x59 on each), compared.
# Everything between "--- begin" and "--- end" is compared exactly.

bus="" vbus=""
for d in /sys/bus/i2c/devices/i2c-*; do
    case "$(cat "$d/name")" in
    "SMBus I801 adapter"*) bus=${d##*/i2c-} ;;
    "i2c_virtio at virtio bus "*) vbus=${d##*/i2c-} ;;
    esac
done

echo "--- begin"
if [ -z "$bus" ] || [ -z "$vbus" ]; then
    echo "adapter missing: i801 '$bus', i2c-virtio '$vbus'"
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

# read_both OFFSET LEN: the same range of the same image through both
# adapters; prints both and whether they agree.
fails=0
read_both() {
    a=$(i2cget -y "$bus" 0x59 "$1" i "$2" 2>&1)
    ra=$?
    b=$(i2ctransfer -y "$vbus" "w1@0x59" "$1" "r$2@0x59" 2>&1)
    rb=$?
    echo "--- 0x59 @$1, $2 bytes"
    echo "ich9:   $a (rc=$ra)"
    echo "virtio: $b (rc=$rb)"
    if [ "$ra" = 0 ] && [ "$rb" = 0 ] && [ "$a" = "$b" ]; then
        echo "agree"
    else
        echo "DIFFER"
        fails=$((fails + 1))
    fi
}
echo "--- the image (byte i = 37 i + 11) through i801 and through virtio-i2c-rust"
read_both 0x00 16
read_both 0x7b 3
read_both 0xe0 32
read_both 0xf0 16
echo "--- end"
[ "$fails" = 0 ]
