#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of 50-hotplug.  The host drives QMP from the "HOTPLUG: ..."
# lines; everything between "--- begin" and "--- end" is compared exactly.
#   cycle 0: the adapter is there from the boot, with a ds1338 (0x68) and a
#     tmp105 (0x48) on its bus.  Write state into both (ds1338 RAM, the
#     tmp105's T_high register), read it back, announce "HOTPLUG: written 0";
#     the host migrates the VM to a file and a second QEMU loads it and runs
#     this guest on.  Both go on only when the tmp105 reads 42 C, which the
#     host sets through QMP (on the destination first, then on the source),
#     then read the state again and announce "HOTPLUG: checked 0" (the
#     destination's report is compared too: the state must have come over
#     with the migration).  Then wait for the adapter to go (device_del).
#   cycles 1 and 2: announce "HOTPLUG: ready N", wait for an adapter to
#     appear (device_add of an empty bus), scan it, announce "HOTPLUG:
#     plugged N", wait for it to go (device_del), announce "HOTPLUG:
#     unplugged N".
#   then wait for a last device_add after the host migrated the VM.

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

# The state of cycle 0's devices, as this guest reads it.
show_state() {
    echo "ds1338 RAM 0x08-0x0f: $(i2ctransfer -y "$bus" w1@0x68 0x08 r8@0x68 2>&1) (rc=$?)"
    echo "tmp105 T_high: $(i2cget -y "$bus" 0x48 0x03 w 2>&1) (rc=$?)"
}

echo "--- begin"
echo "--- cycle 0: plugged at boot, a ds1338 at 0x68 and a tmp105 at 0x48"
wait_for present || { echo "--- end"; exit 1; }
adapters
bus=$(adapters | sed -n '1s/^i2c-\([0-9]*\):.*/\1/p')
i2cdetect -y "$bus" 2>&1
echo "rc=$?"
echo "--- cycle 0: state at the boot (a fresh ds1338 has zeroed RAM)"
show_state
echo "--- cycle 0: state written before the migration"
i2ctransfer -y "$bus" w9@0x68 0x08 0x11 0x22 0x33 0x44 0x55 0x66 0x77 0x88 2>&1
echo "rc=$?"
i2cset -y "$bus" 0x48 0x03 0x003c w 2>&1
echo "rc=$?"
show_state
echo "HOTPLUG: written 0"
# The tmp105 reads 0 C until the host sets 42 C (0x2a00; a word read is
# LSB first) after the migration.
i=0
while [ "$(i2cget -y "$bus" 0x48 0x00 w 2>&1)" != 0x002a ]; do
    i=$((i + 1))
    if [ "$i" -ge 600 ]; then
        echo "timeout: the tmp105 does not read 42 C after 120 s"
        echo "--- end"
        exit 1
    fi
    sleep 0.2
done
echo "--- cycle 0: after the migration"
show_state
echo "HOTPLUG: checked 0"
wait_for absent || { echo "--- end"; exit 1; }
echo "--- cycle 0: after device_del"
adapters
echo "HOTPLUG: unplugged 0"

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
