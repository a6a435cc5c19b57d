#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# q35's ICH9 SMBus (i2c-i801 in the guest, interrupt mode) with an
# at24c-eeprom at 0x58: an I2C block read of 16 bytes returns all 16
# (the pm_smbus patch of qemu-patches; before it the last byte of such a read came back 0),
# and the same bytes read through virtio-i2c-rust agree.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

rc=0
"$VI2C_ROOT/scripts/run-guest.sh" --timeout 180 --log "$LOGDIR/serial.log" \
    --test "$CASES_DIR/$CASE.guest.sh" -- \
    -device at24c-eeprom,bus=i2c,address=0x58,rom-size=256 \
    >"$LOGDIR/run-guest.out" 2>&1 || rc=$?
guest_section "$LOGDIR/serial.log" >"$LOGDIR/actual"
[ -s "$LOGDIR/actual" ] || fail "no report from the guest (run-guest.sh rc=$rc; log: $LOGDIR/run-guest.out)"
compare "$CASES_DIR/$CASE.expected" "$LOGDIR/actual"
[ "$rc" = 0 ] || fail "run-guest.sh exited with $rc (log: $LOGDIR/run-guest.out)"
