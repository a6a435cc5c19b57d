#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Bad configurations fail at startup with exit status 1 and exactly one
# error line that names the property and its value.  No guest is booted.
# A valid configuration (checked first) starts and quits cleanly.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

prog=${QEMU##*/}
n=0
failed=0

# expect_error MESSAGE QEMU-ARGS...: QEMU fails with status 1 and prints
# exactly "<prog>: -device <last -device argument>: MESSAGE".
expect_error() {
    local msg=$1 dev="" a prev="" rc=0
    shift
    for a in "$@"; do
        if [ "$prev" = -device ]; then dev=$a; fi
        prev=$a
    done
    n=$((n + 1))
    qemu_plain "$@" </dev/null >"$LOGDIR/$n.out" 2>"$LOGDIR/$n.err" || rc=$?
    printf '%s: -device %s: %s\n' "$prog" "$dev" "$msg" >"$LOGDIR/$n.expected"
    if [ "$rc" != 1 ] || ! cmp -s "$LOGDIR/$n.expected" "$LOGDIR/$n.err"; then
        note "case $n: $*"
        note "  exit status $rc (want 1); stderr:"
        sed 's/^/    /' "$LOGDIR/$n.err" >&2
        note "  want:"
        sed 's/^/    /' "$LOGDIR/$n.expected" >&2
        failed=$((failed + 1))
    fi
}

# A valid configuration: starts (paused), quits through QMP, says nothing.
rc=0
printf '%s\n' '{"execute": "qmp_capabilities"}' '{"execute": "quit"}' |
    qemu_plain -qmp stdio \
        -device virtio-i2c-rust-pci,id=vi2c0,address=0x50,,0x52-0x53,,0x60=0x61,queue-size=1024 \
        -device at24c-eeprom,bus=vi2c0.0,address=0x50 \
        >"$LOGDIR/valid.out" 2>"$LOGDIR/valid.err" || rc=$?
if [ "$rc" != 0 ] || [ -s "$LOGDIR/valid.err" ]; then
    cat "$LOGDIR/valid.err" >&2
    fail "a valid configuration failed with status $rc"
fi

# virtio-i2c-rust
expect_error "virtio-i2c-rust: invalid address=0x05: '0x05': 0x05 is reserved (0x00-0x07 and 0x78-0x7f are reserved by the I2C specification)" \
    -device virtio-i2c-rust-pci,host=/dev/i2c-0,address=0x05
expect_error "virtio-i2c-rust: invalid address=0x50,0x50: '0x50': guest address 0x50 is listed twice" \
    -device virtio-i2c-rust-pci,address=0x50,,0x50
expect_error "virtio-i2c-rust: invalid capture=/nonexistent/i2c.pcapng (capture-max-bytes=67108864): cannot create the capture file /nonexistent/i2c.pcapng: No such file or directory (os error 2)" \
    -device virtio-i2c-rust-pci,capture=/nonexistent/i2c.pcapng
expect_error "virtio-i2c-rust: invalid capture=$LOGDIR/i2c.pcapng (capture-max-bytes=10): capture max_bytes=10 is too small: at least 248 bytes are needed (0: no limit)" \
    -device "virtio-i2c-rust-pci,capture=$LOGDIR/i2c.pcapng,capture-max-bytes=10"
expect_error "virtio-i2c-rust: capture-bus=128 is out of range (0-127)" \
    -device "virtio-i2c-rust-pci,capture=$LOGDIR/i2c.pcapng,capture-bus=128"
expect_error "virtio-i2c-rust: invalid address=0x50-0x4f: '0x50-0x4f': a range must go from low to high" \
    -device virtio-i2c-rust-pci,address=0x50-0x4f
expect_error "virtio-i2c-rust: cannot open host=/dev/i2c-99: /dev/i2c-99 does not exist (is the i2c-dev module loaded?)" \
    -device virtio-i2c-rust-pci,host=/dev/i2c-99,address=0x50
# On the PCI device "addr" is the PCI slot: the policy must be "address".
expect_error "Property 'virtio-i2c-rust-pci.addr' doesn't take value '0x50'" \
    -device virtio-i2c-rust-pci,addr=0x50
expect_error "virtio-i2c-rust: property 'address' is required with host=/dev/i2c-0; on virtio-i2c-rust-pci, 'addr' is the PCI slot" \
    -device virtio-i2c-rust-pci,host=/dev/i2c-0,addr=5
expect_error "virtio-i2c-rust: queue-size=3 is invalid: it must be a power of two from 1 to 1024" \
    -device virtio-i2c-rust-pci,queue-size=3
expect_error "virtio-i2c-rust: queue-size=2048 is invalid: it must be a power of two from 1 to 1024" \
    -device virtio-i2c-rust-pci,queue-size=2048
expect_error "virtio-i2c-rust: timeout-ms=100 only applies with host=..." \
    -device virtio-i2c-rust-pci,timeout-ms=100
expect_error "virtio-i2c-rust: force=on only applies with host=..." \
    -device virtio-i2c-rust-pci,force=on
expect_error "virtio-i2c-rust: retries=-2 is invalid (-1 keeps the kernel's default)" \
    -device virtio-i2c-rust-pci,host=/dev/i2c-99,address=0x50,retries=-2
# The migration blocker is added before the host is opened.
expect_error "disallowing migration blocker (--only-migratable) for: virtio-i2c-rust: migration with host=/dev/i2c-99 is not supported" \
    -only-migratable -device virtio-i2c-rust-pci,host=/dev/i2c-99,address=0x50

# host-i2cdev, on the ICH9 SMBus of q35 (bus "i2c")
expect_error "host-i2cdev: cannot open host=/dev/i2c-99: /dev/i2c-99 does not exist (is the i2c-dev module loaded?)" \
    -device host-i2cdev,bus=i2c,address=0x48,host=/dev/i2c-99
expect_error "host-i2cdev: property 'host' is required (an i2c-dev path such as /dev/i2c-1, an adapter number or an adapter name)" \
    -device host-i2cdev,bus=i2c,address=0x48
expect_error "host-i2cdev: property 'address' (the address on the emulated bus) is required" \
    -device host-i2cdev,bus=i2c,host=/dev/i2c-99
expect_error "host-i2cdev: prefetch=0 is out of range (1-8192)" \
    -device host-i2cdev,bus=i2c,address=0x48,host=/dev/i2c-99,prefetch=0
expect_error "host-i2cdev: address=0x80 is not a 7-bit address (the emulated bus has 7-bit addresses; a 10-bit client on the host is hostaddr)" \
    -device host-i2cdev,bus=i2c,address=0x80,host=/dev/i2c-99
expect_error "host-i2cdev: pointer-size=3 is out of range (1 or 2: the client's register address width in bytes)" \
    -device host-i2cdev,bus=i2c,address=0x48,host=/dev/i2c-99,read-only=on,pointer-size=3
expect_error "host-i2cdev: hostaddr=0x400 is out of range (7-bit, or 10-bit from 0x80 to 0x3ff)" \
    -device host-i2cdev,bus=i2c,address=0x48,host=/dev/i2c-99,hostaddr=0x400
expect_error "disallowing migration blocker (--only-migratable) for: host-i2cdev: migration with host=/dev/i2c-99 is not supported" \
    -only-migratable -device host-i2cdev,bus=i2c,address=0x48,host=/dev/i2c-99

[ "$failed" = 0 ] || fail "$failed of $n bad configurations did not fail as expected (logs: $LOGDIR)"
note "$n bad configurations rejected as expected"
