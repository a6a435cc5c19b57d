#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of 50-hotplug.  Two cycles: announce "HOTPLUG: ready N", wait
# for an i2c_virtio adapter to appear (the host runs device_add), scan it,
# announce "HOTPLUG: plugged N", wait for it to go (device_del), announce
# "HOTPLUG: unplugged N"; then wait for a last device_add after the host
# migrated the VM.  The host drives QMP from these lines; everything
# between "--- begin" and "--- end" is compared exactly.

adapters() {
    for d in /sys/bus/i2c/devices/i2c-*; do
        # The adapter may go while we look.
        n=$(cat "$d/name" 2>/dev/null) || continue
        case "$n" in
        "i2c_virtio at virtio bus "*) echo "${d##*/}: $n" ;;
        esac
    done
}

# wait_for present|absent: poll for up to 60 s.
wait_for() {
    i=0
    while [ "$i" -lt 600 ]; do
        a=$(adapters)
        if [ "$1" = present ] && [ -n "$a" ]; then return 0; fi
        if [ "$1" = absent ] && [ -z "$a" ]; then return 0; fi
        sleep 0.1
        i=$((i + 1))
    done
    echo "timeout: the adapter is not $1 after 60 s"
    return 1
}

echo "--- begin"
for cycle in 1 2; do
    echo "--- cycle $cycle: before device_add"
    adapters
    echo "HOTPLUG: ready $cycle"
    wait_for present || { echo "--- end"; exit 1; }
    echo "--- cycle $cycle: after device_add"
    adapters
    bus=$(adapters | sed -n '1s/^i2c-\([0-9]*\):.*/\1/p')
    i2cdetect -y "$bus" 2>&1
    echo "rc=$?"
    echo "HOTPLUG: plugged $cycle"
    wait_for absent || { echo "--- end"; exit 1; }
    echo "--- cycle $cycle: after device_del"
    adapters
    echo "HOTPLUG: unplugged $cycle"
done
# The host migrates the VM, then plugs the device a last time: the guest
# must not power off before that.
echo "HOTPLUG: ready 3"
wait_for present || { echo "--- end"; exit 1; }
echo "--- after the migration: device_add"
adapters
echo "--- end"
