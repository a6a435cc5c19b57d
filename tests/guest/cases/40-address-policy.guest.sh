#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of 40-address-policy: two emulated buses with address policies.
#   virtio bus 0: address 0x48,0x60=0x50; tmp105 at 0x48, EEPROMs at 0x50, 0x51
#   virtio bus 1: address 0x52-0x53,0x54=0x50; EEPROMs at 0x50 and 0x52
# Everything between "--- begin" and "--- end" is compared exactly.

bus_of() {
    for d in /sys/bus/i2c/devices/i2c-*; do
        if [ "$(cat "$d/name")" = "i2c_virtio at virtio bus $1" ]; then
            echo "${d##*/i2c-}"
        fi
    done
}
b0=$(bus_of 0)
b1=$(bus_of 1)

echo "--- begin"
if [ -z "$b0" ] || [ -z "$b1" ]; then
    echo "missing i2c_virtio adapters: bus 0 '$b0', bus 1 '$b1'"
    echo "--- end"
    exit 1
fi
echo "--- bus 0: i2cdetect (only 0x48 and 0x60 are allowed)"
i2cdetect -y "$b0" 2>&1
echo "rc=$?"
echo "--- bus 0: 0x60 is the EEPROM at 0x50"
i2cset -y "$b0" 0x60 0x00 0x5a b 2>&1
echo "rc=$?"
i2cget -y "$b0" 0x60 0x00 b 2>&1
echo "rc=$?"
echo "--- bus 0: 0x50 and 0x51 are not allowed"
i2cget -y "$b0" 0x50 0x00 b 2>&1
echo "rc=$?"
i2cget -y "$b0" 0x51 0x00 b 2>&1
echo "rc=$?"
echo "--- bus 0: a transfer with a message to a forbidden address fails whole"
i2ctransfer -y "$b0" w2@0x60 0x00 0x11 w2@0x50 0x00 0x22 2>&1
echo "rc=$?"
i2cget -y "$b0" 0x60 0x00 b 2>&1
echo "rc=$?"
echo "--- bus 0: tmp105 T_HIGH"
i2cget -y "$b0" 0x48 0x03 w 2>&1
echo "rc=$?"
echo "--- bus 1: i2cdetect (0x52, 0x53, 0x54 and 0x56 are allowed; nothing at 0x53)"
i2cdetect -y "$b1" 2>&1
echo "rc=$?"
echo "--- bus 1: 0x54 is the EEPROM at 0x50, 0x52 is itself"
i2cset -y "$b1" 0x54 0x07 0x54 b 2>&1
echo "rc=$?"
i2cset -y "$b1" 0x52 0x07 0x52 b 2>&1
echo "rc=$?"
i2ctransfer -y "$b1" w1@0x54 0x07 r1 w1@0x52 0x07 r1 2>&1
echo "rc=$?"
echo "--- bus 1: 0x56 is the EEPROM at 0x51, read-only: no write reaches it"
i2cset -y "$b1" 0x56 0x07 0x56 b 2>&1
echo "rc=$?"
i2ctransfer -y "$b1" w1@0x56 0x07 r1 w2@0x56 0x07 0x56 2>&1
echo "rc=$?"
echo "--- bus 1: a 2-byte 'pointer' to a 1-byte-pointer client is data: refused"
i2ctransfer -y "$b1" w2@0x56 0x07 0x56 r1 2>&1
echo "rc=$?"
echo "--- bus 1: a register pointer before a read is not a write"
i2cget -y "$b1" 0x56 0x07 b 2>&1
echo "rc=$?"
i2ctransfer -y "$b1" w1@0x56 0x06 r2 2>&1
echo "rc=$?"
echo "--- end"
