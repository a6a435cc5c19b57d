#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A guest whose i2c-virtio driver speaks the protocol of Linux 5.14 and
# 5.15: no VIRTIO_I2C_F_ZERO_LENGTH_REQUEST negotiated, no M_RD flag (a read
# is known by its device-writable buffer), no zero-length messages.  The
# guest replaces the driver it booted with by that one
# (scripts/i2c-virtio-5.15-protocol.patch) and runs i2c-tools on two
# emulated buses: vi2c0 (the default: served in that protocol) with an
# at24c-eeprom (0x50) and a tmp105 (0x48), and vi2c1 with
# require-zero-length=on, which the driver must fail to probe.  Its report
# must equal 70-legacy-driver.expected.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

rc=0
"$VI2C_ROOT/scripts/run-guest.sh" --timeout 180 --log "$LOGDIR/serial.log" \
    --test "$CASES_DIR/$CASE.guest.sh" -- \
    -device virtio-i2c-rust-pci,id=vi2c0,addr=0x4 \
    -device at24c-eeprom,bus=vi2c0.0,address=0x50,rom-size=256 \
    -device tmp105,bus=vi2c0.0,address=0x48 \
    -device virtio-i2c-rust-pci,id=vi2c1,addr=0x5,require-zero-length=on \
    -device at24c-eeprom,bus=vi2c1.0,address=0x50,rom-size=256 \
    >"$LOGDIR/run-guest.out" 2>&1 || rc=$?
guest_section "$LOGDIR/serial.log" >"$LOGDIR/actual"
[ -s "$LOGDIR/actual" ] || fail "no report from the guest (run-guest.sh rc=$rc; log: $LOGDIR/run-guest.out)"
compare "$CASES_DIR/$CASE.expected" "$LOGDIR/actual"
[ "$rc" = 0 ] || fail "run-guest.sh exited with $rc (log: $LOGDIR/run-guest.out)"
