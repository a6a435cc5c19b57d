#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# virtio-i2c-rust-pci without host: an emulated I2C bus (vi2c0.0) with QEMU's
# at24c-eeprom (0x50) and tmp105 (0x48).  The guest runs i2c-tools on it
# (30-emulated-bus.guest.sh); its report must equal 30-emulated-bus.expected.
# QEMU starts paused; QMP sets the TMP105 to 25.5 C, then starts the guest.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

sock=$LOGDIR/qmp.sock
"$VI2C_ROOT/scripts/run-guest.sh" --timeout 180 --log "$LOGDIR/serial.log" \
    --test "$CASES_DIR/$CASE.guest.sh" -- \
    -S -qmp "unix:$sock,server=on,wait=off" \
    -device virtio-i2c-rust-pci,id=vi2c0 \
    -device at24c-eeprom,bus=vi2c0.0,address=0x50,rom-size=256 \
    -device tmp105,id=tmp0,bus=vi2c0.0,address=0x48 \
    >"$LOGDIR/run-guest.out" 2>&1 &
guest=$!

# 25.5 C: the TMP105 reads 0x19 0x80 (9-bit resolution).
if ! python3 "$TESTS_DIR/qmp.py" "$sock" \
    qom-set '{"path": "/machine/peripheral/tmp0", "property": "temperature", "value": 25500}' \
    cont >"$LOGDIR/qmp.out" 2>&1; then
    kill "$guest" 2>/dev/null || true
    wait "$guest" || true
    cat "$LOGDIR/qmp.out" >&2
    fail "QMP setup failed (log: $LOGDIR/qmp.out)"
fi

rc=0
wait "$guest" || rc=$?
guest_section "$LOGDIR/serial.log" >"$LOGDIR/actual"
[ -s "$LOGDIR/actual" ] || fail "no report from the guest (run-guest.sh rc=$rc; log: $LOGDIR/run-guest.out)"
compare "$CASES_DIR/$CASE.expected" "$LOGDIR/actual"
[ "$rc" = 0 ] || fail "run-guest.sh exited with $rc (log: $LOGDIR/run-guest.out)"
