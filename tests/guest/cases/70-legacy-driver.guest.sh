#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of 70-legacy-driver: replace i2c-virtio with the driver as of
# Linux 5.15, then i2c-tools on virtio0's bus (EEPROM at 0x50, TMP105 at
# 0x48).  virtio1 (require-zero-length=on) must refuse that driver.
# Everything between "--- begin" and "--- end" is compared exactly.

# adapter N: the number of the i2c adapter of virtio device N, or nothing.
adapter() {
    for d in /sys/bus/i2c/devices/i2c-*; do
        [ "$(cat "$d/name")" = "i2c_virtio at virtio bus $1" ] && echo "${d##*/i2c-}"
    done
}
# zero_length N: whether virtio device N negotiated
# VIRTIO_I2C_F_ZERO_LENGTH_REQUEST (feature bit 0).
zero_length() {
    cut -c1 "/sys/bus/virtio/devices/virtio$1/features"
}

echo "--- begin"
echo "--- the driver the guest booted with"
echo "virtio0: ZERO_LENGTH_REQUEST=$(zero_length 0), adapter: $(adapter 0 | sed "s/.*/present/")"
echo "virtio1: ZERO_LENGTH_REQUEST=$(zero_length 1), adapter: $(adapter 1 | sed 's/.*/present/')"
echo "--- rmmod i2c_virtio; insmod i2c-virtio-5.15/i2c-virtio.ko"
rmmod i2c_virtio 2>&1
echo "rc=$?"
insmod "/lib/modules/$(uname -r)/i2c-virtio-5.15/i2c-virtio.ko" 2>&1
echo "rc=$?"
echo "virtio0: ZERO_LENGTH_REQUEST=$(zero_length 0), adapter: $(adapter 0 | sed 's/.*/present/')"
a1=$(adapter 1)
echo "virtio1: adapter: ${a1:-absent}"
dmesg | sed -n 's/^\[[ 0-9.]*\] \(.* virtio1: virtio: device refuses features.*\)/\1/p'
bus=$(adapter 0)
if [ -z "$bus" ]; then
    echo "no adapter on virtio0"
    echo "--- end"
    exit 1
fi
echo "--- i2cdetect -y -r BUS (read byte: the driver has no SMBus Quick)"
i2cdetect -y -r "$bus" 2>&1
echo "rc=$?"
echo "--- i2cset -y BUS 0x50 0x10 0xa5 b; i2cget -y BUS 0x50 0x10 b"
i2cset -y "$bus" 0x50 0x10 0xa5 b 2>&1
echo "rc=$?"
i2cget -y "$bus" 0x50 0x10 b 2>&1
echo "rc=$?"
echo "--- word read: i2cget -y BUS 0x48 0x03 w (T_HIGH)"
i2cget -y "$bus" 0x48 0x03 w 2>&1
echo "rc=$?"
echo "--- word write, read back: i2cset -y BUS 0x48 0x02 0x1234 w; i2cget -y BUS 0x48 0x02 w"
i2cset -y "$bus" 0x48 0x02 0x1234 w 2>&1
echo "rc=$?"
i2cget -y "$bus" 0x48 0x02 w 2>&1
echo "rc=$?"
echo "--- page write: i2ctransfer -y BUS w17@0x50 0x20 0x00 0x11 .. 0xff"
i2ctransfer -y "$bus" w17@0x50 0x20 0x00 0x11 0x22 0x33 0x44 0x55 0x66 0x77 \
    0x88 0x99 0xaa 0xbb 0xcc 0xdd 0xee 0xff 2>&1
echo "rc=$?"
echo "--- sequential read: i2ctransfer -y BUS w1@0x50 0x20 r16"
i2ctransfer -y "$bus" w1@0x50 0x20 r16 2>&1
echo "rc=$?"
echo "--- four messages, two devices: i2ctransfer -y BUS w1@0x50 0x24 r4 w1@0x48 0x03 r2"
i2ctransfer -y "$bus" w1@0x50 0x24 r4 w1@0x48 0x03 r2 2>&1
echo "rc=$?"
echo "--- I2C block read: i2cdump -y -r 0x20-0x2f BUS 0x50 i"
i2cdump -y -r 0x20-0x2f "$bus" 0x50 i 2>&1
echo "rc=$?"
echo "--- absent address: i2cget -y BUS 0x30 0x00 b; then i2cget -y BUS 0x50 0x10 b"
i2cget -y "$bus" 0x30 0x00 b 2>&1
echo "rc=$?"
i2cget -y "$bus" 0x50 0x10 b 2>&1
echo "rc=$?"
echo "--- zero-length message: i2ctransfer -y BUS w0@0x50 (refused by the guest's I2C core)"
i2ctransfer -y "$bus" w0@0x50 2>&1
echo "rc=$?"
echo "--- rmmod i2c_virtio; insmod the driver the guest booted with: the current protocol again"
rmmod i2c_virtio 2>&1
echo "rc=$?"
insmod "/lib/modules/$(uname -r)/updates/i2c-virtio.ko" 2>&1
echo "rc=$?"
echo "virtio0: ZERO_LENGTH_REQUEST=$(zero_length 0), adapter: $(adapter 0 | sed 's/.*/present/')"
echo "virtio1: ZERO_LENGTH_REQUEST=$(zero_length 1), adapter: $(adapter 1 | sed 's/.*/present/')"
bus=$(adapter 0)
echo "--- i2cget -y BUS 0x50 0x10 b; i2ctransfer -y BUS w0@0x50"
i2cget -y "$bus" 0x50 0x10 b 2>&1
echo "rc=$?"
i2ctransfer -y "$bus" w0@0x50 2>&1
echo "rc=$?"
echo "--- end"
