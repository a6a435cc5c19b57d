#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Hot-plug: QMP device_add / device_del of virtio-i2c-rust-pci on a
# pcie-root-port while the guest runs (50-hotplug.py drives QMP, in step
# with the guest's 50-hotplug.guest.sh), twice, with a migration to a file
# while the device is plugged and after it is gone, each loaded by a second
# QEMU.  The guest must see the
# adapter appear and go; its report must equal 50-hotplug.expected.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

[ -f "$VI2C_BUILD/guest/guest.env" ] || fail "no guest; run scripts/build-guest.sh first"
# shellcheck source=/dev/null
. "$VI2C_BUILD/guest/guest.env"

rc=0
python3 "$CASES_DIR/$CASE.py" "$LOGDIR" "$VI2C_ROOT/scripts/run-guest.sh" \
    "$CASES_DIR/$CASE.guest.sh" "$QEMU" "$FIRMWARE" "$VI2C_GUEST_KERNEL" \
    "$VI2C_BUILD/guest/base.cpio.gz" 2>"$LOGDIR/steps.log" || rc=$?
cat "$LOGDIR/steps.log" >&2
guest_section "$LOGDIR/serial.log" >"$LOGDIR/actual" 2>/dev/null || true
[ -s "$LOGDIR/actual" ] || fail "no report from the guest (log: $LOGDIR/run-guest.out)"
compare "$CASES_DIR/$CASE.expected" "$LOGDIR/actual"
[ "$rc" = 0 ] || fail "the hot-plug sequence failed (steps: $LOGDIR/steps.log, guest: $LOGDIR/run-guest.out)"
