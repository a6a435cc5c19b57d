#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The address policy on emulated buses: which guest addresses reach the bus
# and remaps, and a read-only client (0x56 on the second adapter).  The first adapter and its devices are given with the JSON
# syntax of -device (QEMU creates JSON -device after the others, so a bus
# and its devices must use the same syntax), the second with ",," escaping
# the commas of its address list.  "addr" is the PCI slot here: it fixes
# the order in which the guest numbers the virtio devices.  The
# guest's report (40-address-policy.guest.sh) must equal
# 40-address-policy.expected.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

rc=0
"$VI2C_ROOT/scripts/run-guest.sh" --timeout 180 --log "$LOGDIR/serial.log" \
    --test "$CASES_DIR/$CASE.guest.sh" -- \
    -device '{"driver": "virtio-i2c-rust-pci", "id": "vi2c0", "addr": "04.0", "address": "0x48,0x60=0x50"}' \
    -device '{"driver": "tmp105", "bus": "vi2c0.0", "address": 72}' \
    -device '{"driver": "at24c-eeprom", "bus": "vi2c0.0", "address": 80, "rom-size": 256}' \
    -device '{"driver": "at24c-eeprom", "bus": "vi2c0.0", "address": 81, "rom-size": 256}' \
    -d guest_errors -D "$LOGDIR/qemu.log" \
    -device virtio-i2c-rust-pci,id=vi2c1,addr=05.0,address=0x52-0x53,,0x54=0x50,,0x56=0x51:ro,queue-size=8 \
    -device at24c-eeprom,bus=vi2c1.0,address=0x50,rom-size=256 \
    -device at24c-eeprom,bus=vi2c1.0,address=0x51,rom-size=256 \
    -device at24c-eeprom,bus=vi2c1.0,address=0x52,rom-size=256 \
    >"$LOGDIR/run-guest.out" 2>&1 || rc=$?

guest_section "$LOGDIR/serial.log" >"$LOGDIR/actual"
[ -s "$LOGDIR/actual" ] || fail "no report from the guest (run-guest.sh rc=$rc; log: $LOGDIR/run-guest.out)"
compare "$CASES_DIR/$CASE.expected" "$LOGDIR/actual"
[ "$rc" = 0 ] || fail "run-guest.sh exited with $rc (log: $LOGDIR/run-guest.out)"

# Refused messages are guest errors (-d guest_errors), naming the adapter.
for want in \
    "virtio-i2c-rust vi2c0: request 1 targets 0x50, which is not allowed" \
    "virtio-i2c-rust vi2c0: request 0 targets 0x51, which is not allowed" \
    "virtio-i2c-rust vi2c1: request 0 targets 0x77, which is not allowed" \
    "virtio-i2c-rust vi2c1: request 0 writes to 0x56, which is read-only (only a pointer of at most 1 byte(s) before a read is allowed)" \
    "virtio-i2c-rust vi2c1: request 2 writes to 0x56, which is read-only (only a pointer of at most 1 byte(s) before a read is allowed)"; do
    grep -qxF "$want" "$LOGDIR/qemu.log" || fail "no line \"$want\" in $LOGDIR/qemu.log"
done
if grep -v -e '^virtio-i2c-rust vi2c[01]: request [0-9] targets 0x[0-7][0-9a-f], which is not allowed$' \
    -e '^virtio-i2c-rust vi2c1: request [02] writes to 0x56, which is read-only (only a pointer of at most 1 byte(s) before a read is allowed)$' \
    "$LOGDIR/qemu.log" >"$LOGDIR/qemu.log.other"; then
    cat "$LOGDIR/qemu.log.other" >&2
    fail "unexpected lines in $LOGDIR/qemu.log"
fi
