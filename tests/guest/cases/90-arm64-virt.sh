#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The scenarios of 30-emulated-bus in an arm64 guest on Arm's virt machine
# (qemu-system-aarch64 -M virt -cpu max, TCG; Debian's arm64 kernel with
# the cross-built i2c-virtio.ko): an emulated I2C bus (vi2c0.0) with
# QEMU's at24c-eeprom (0x50) and tmp105 (0x48, set to 25.5 C over QMP
# while QEMU is paused), i2c-tools in the guest (30-emulated-bus.guest.sh,
# shared).  Two boots, each reporting under a "=== TRANSPORT" line:
#   virtio-mmio   virtio-i2c-rust-device on one of virt's virtio-mmio
#                 transports (a little-endian device-tree platform device)
#   pci           virtio-i2c-rust-pci on virt's generic PCIe host bridge
# The reports, one after the other, must equal 90-arm64-virt.expected.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
need_arm64

: >"$LOGDIR/actual"
boot() { # boot TRANSPORT DEVICE
    local tr=$1 dev=$2 sock=$LOGDIR/qmp-$1.sock guest rc=0
    "$VI2C_ROOT/scripts/run-guest.sh" --arch arm64 --qemu "$QEMU_AARCH64" --timeout 300 \
        --log "$LOGDIR/serial-$tr.log" --test "$CASES_DIR/30-emulated-bus.guest.sh" -- \
        -S -qmp "unix:$sock,server=on,wait=off" \
        -device "$dev,id=vi2c0" \
        -device at24c-eeprom,bus=vi2c0.0,address=0x50,rom-size=256 \
        -device tmp105,id=tmp0,bus=vi2c0.0,address=0x48 \
        >"$LOGDIR/run-guest-$tr.out" 2>&1 &
    guest=$!
    # 25.5 C: the TMP105 reads 0x19 0x80 (9-bit resolution).
    if ! python3 "$TESTS_DIR/qmp.py" "$sock" \
        qom-set '{"path": "/machine/peripheral/tmp0", "property": "temperature", "value": 25500}' \
        cont >"$LOGDIR/qmp-$tr.out" 2>&1; then
        kill "$guest" 2>/dev/null || true
        wait "$guest" || true
        cat "$LOGDIR/qmp-$tr.out" >&2
        fail "$tr: QMP setup failed (log: $LOGDIR/qmp-$tr.out)"
    fi
    wait "$guest" || rc=$?
    echo "=== $tr" >>"$LOGDIR/actual"
    guest_section "$LOGDIR/serial-$tr.log" >>"$LOGDIR/actual"
    [ "$rc" = 0 ] || fail "$tr: run-guest.sh exited with $rc (log: $LOGDIR/run-guest-$tr.out)"
}
boot virtio-mmio virtio-i2c-rust-device
boot pci virtio-i2c-rust-pci
compare "$CASES_DIR/$CASE.expected" "$LOGDIR/actual"
