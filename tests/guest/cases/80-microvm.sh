#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# x86 microvm: virtio-i2c-rust-device on a virtio-mmio transport (no PCI),
# with the device's own "addr" property (on the -pci proxy, addr is the PCI
# slot): addr=0x50,0x49=0x48 lets the guest reach the at24c-eeprom at 0x50
# and, as 0x49, the tmp105 at 0x48, and nothing else.  Four boots, each
# running 80-microvm.guest.sh:
#   legacy-mmio         QEMU's default transport (virtio-mmio version 1)
#   modern-mmio         -global virtio-mmio.force-legacy=false (virtio 1.x)
#   legacy-driver       legacy transport, the guest's driver swapped for the
#                       one of Linux 5.15 (no M_RD, no features)
#   legacy-refused      the same with require-zero-length=on: a legacy
#                       transport has no FEATURES_OK, so every request of
#                       the refused driver fails instead
# Their reports, one after the other, must equal 80-microvm.expected.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

: >"$LOGDIR/actual"
boot() { # boot MODE [QEMU ARGS...]
    local mode=$1 rc=0
    shift
    "$VI2C_ROOT/scripts/run-guest.sh" --machine microvm --timeout 120 \
        --log "$LOGDIR/serial-$mode.log" --append "vi2c.mode=$mode" \
        --test "$CASES_DIR/$CASE.guest.sh" -- "$@" \
        -device at24c-eeprom,bus=vi2c0.0,address=0x50,rom-size=256 \
        -device tmp105,bus=vi2c0.0,address=0x48 \
        >"$LOGDIR/run-guest-$mode.out" 2>&1 || rc=$?
    guest_section "$LOGDIR/serial-$mode.log" >>"$LOGDIR/actual"
    [ "$rc" = 0 ] || fail "$mode: run-guest.sh exited with $rc (log: $LOGDIR/run-guest-$mode.out)"
}
dev=virtio-i2c-rust-device,id=vi2c0,addr=0x50,,0x49=0x48
boot legacy-mmio -device "$dev"
boot modern-mmio -global virtio-mmio.force-legacy=false -device "$dev"
boot legacy-driver -device "$dev"
boot legacy-refused -device "$dev,require-zero-length=on"
compare "$CASES_DIR/$CASE.expected" "$LOGDIR/actual"
