#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Hot-plug and migration of virtio-i2c-rust-pci on a pcie-root-port
# (50-hotplug.py drives QMP, in step with the guest's 50-hotplug.guest.sh):
#   - cycle 0: the device is there from the boot with a ds1338 and a tmp105
#     on its bus; the guest writes the ds1338's RAM and the tmp105's T_high;
#     the VM is migrated to a file, a second QEMU loads it and runs the
#     guest on, which reads the state back there (and on the source); then
#     device_del removes the device with both devices on its bus;
#   - cycles 1 and 2: device_add / device_del of an empty device, with a
#     migration while it is plugged and after it is gone (before a last
#     device_add), each loaded by a second QEMU.
# The guest's report must equal 50-hotplug.expected, and the part the
# guest printed in the destination QEMU (from "--- cycle 0: after the
# migration" to "HOTPLUG: checked 0") must equal
# 50-hotplug.destination.expected: the state written before the migration,
# read back through the migrated device.
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
# The destination's console: CRs and kernel messages out, as guest_section does.
sed -e 's/\r$//' -e 's/[[:space:]]*$//' "$LOGDIR/destination-serial.log" 2>/dev/null |
    sed -n '/^--- cycle 0: after the migration$/,/^HOTPLUG: checked 0$/p' |
    sed -e '/^\[ *[0-9]*\.[0-9]*\] /d' >"$LOGDIR/actual-destination"
[ -s "$LOGDIR/actual-destination" ] ||
    fail "no report from the guest in the destination QEMU (log: $LOGDIR/destination-serial.log)"
compare "$CASES_DIR/$CASE.destination.expected" "$LOGDIR/actual-destination"
[ "$rc" = 0 ] || fail "the hot-plug sequence failed (steps: $LOGDIR/steps.log, guest: $LOGDIR/run-guest.out)"
