#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# "-device help" lists the new types (and the alias), and "-device
# TYPE,help" their properties.  The relevant lines must equal
# 10-device-help.expected.  No guest is booted.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

props='^  (addr|address|capture|capture-bus|capture-max-bytes|force|host|hostaddr|ioeventfd|prefetch|queue-size|retries|require-zero-length|timeout-ms)='
{
    echo "--- -device help"
    "$QEMU" -nodefaults -machine none -device help | grep -E 'virtio-i2c-rust|host-i2cdev'
    echo "--- -device virtio-i2c-rust,help (the alias)"
    "$QEMU" -nodefaults -machine none -device virtio-i2c-rust,help | grep -E "options:|$props"
    echo "--- -device virtio-i2c-rust-device,help"
    "$QEMU" -nodefaults -machine none -device virtio-i2c-rust-device,help | grep -E "options:|$props"
    echo "--- -device host-i2cdev,help"
    "$QEMU" -nodefaults -machine none -device host-i2cdev,help
} >"$LOGDIR/actual" 2>&1 || fail "QEMU failed (output: $LOGDIR/actual)"
compare "$CASES_DIR/$CASE.expected" "$LOGDIR/actual"
