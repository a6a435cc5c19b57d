#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Host side of 50-hotplug: virtio-i2c-rust-pci on a pcie-root-port,
migrated with state, unplugged and plugged again while the guest runs,
driven by QMP and synchronised with the guest through its serial console
("HOTPLUG: ..." lines).

Cycle 0: the device is there from the boot (id hp0) with a ds1338 (rtc0,
0x68) and a tmp105 (tmp0, 0x48) on its bus.  The guest writes state into
both; the VM is migrated to a file and resumed, and a second QEMU with the
same devices loads the file and runs the guest on (its serial console goes
to LOGDIR/destination-serial.log): QMP sets the destination's tmp105 to
42 C, which tells the guest there to read the state back and report it
("HOTPLUG: checked 0"); then the same on the source.  The ds1338 of the
destination starts with zeroed RAM: the bytes the guest reads there came
with the migration, through the migrated virtio-i2c-rust device.  Then
device_del removes hp0 with both devices on its bus.

Cycles 1 and 2: device_add and device_del of an empty virtio-i2c-rust-pci
(same id and slot); then a last plug that lets the guest end.  While the
device is plugged (cycle 1) and after it is gone (before the last plug),
the VM is migrated to a file and resumed, and a second QEMU with the
matching devices loads that file: the device must migrate in emulated-bus
mode, and nothing of it, nor of the devices that were on its bus in cycle
0, may be left in the migration stream once it is unplugged (a stale
section makes the load fail).

usage: 50-hotplug.py LOGDIR RUN_GUEST GUEST_SCRIPT QEMU FIRMWARE KERNEL INITRD
Exit status 0 when every step happened in time and the guest passed.
"""

import os
import queue
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from qmp import QMP, QMPError  # noqa: E402

T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:6.1f} s] {msg}", file=sys.stderr, flush=True)


class Failure(Exception):
    pass


class Guest:
    """run-guest.sh with its serial output read line by line."""

    def __init__(self, cmd, out_path):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True, errors="replace")
        self.lines = queue.Queue()
        self.out = open(out_path, "w")
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for line in self.proc.stdout:
            self.out.write(line)
            self.out.flush()
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_line(self, text, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"the guest did not print {text!r} within {timeout} s")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise Failure(f"the guest ended before printing {text!r}")
            if line.strip() == text:
                log(f"guest: {text}")
                return

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired as e:
            raise Failure(f"run-guest.sh did not end within {timeout} s") from e

    def kill(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# What the VM is made of, as run-guest.sh starts it (the migration stream
# must match): the destination of a migration test uses the same.
ROOT_PORT = "pcie-root-port,id=rp0,bus=pcie.0,addr=04.0,chassis=1,slot=1"


# Cycle 0's device, from the boot, with state on its bus.
HP0_WITH_STATE = ["-device", "virtio-i2c-rust-pci,id=hp0,bus=rp0",
                  "-device", "ds1338,id=rtc0,bus=hp0.0,address=0x68",
                  "-device", "tmp105,id=tmp0,bus=hp0.0,address=0x48"]
# 42 C: the signal for the guest to read the state back after the migration.
TMP_SIGNAL = 42000


def machine_args(firmware, kernel, initrd, serial="null"):
    return ["-M", "q35", "-accel", "tcg", "-m", "512", "-smp", "1", "-nodefaults",
            "-display", "none", "-serial", serial, "-L", firmware,
            "-kernel", kernel, "-initrd", initrd,
            "-append", "console=ttyS0 panic=-1 quiet", "-device", ROOT_PORT]


def load_incoming(qemu, base, path, tag, logdir, devices):
    """Starts a paused QEMU with DEVICES that loads the migration file."""
    sock = os.path.join(logdir, f"incoming-{tag}.sock")
    err = open(os.path.join(logdir, f"incoming-{tag}.err"), "w+")
    cmd = [qemu] + base + devices + ["-S", "-qmp", f"unix:{sock},server=on,wait=off",
                                     "-incoming", f"file:{path}"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    try:
        deadline = time.monotonic() + 120
        while not os.path.exists(sock):
            if proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        status = None
        if proc.poll() is None and os.path.exists(sock):
            qmp = QMP(sock)
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    status = qmp.cmd("query-migrate").get("status")
                except QMPError:
                    break
                if status in ("completed", "failed"):
                    break
                time.sleep(0.2)
            if status == "completed":
                qmp.cmd("quit")
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err.seek(0)
    msg = err.read().strip()
    if status != "completed":
        raise Failure(f"loading the migration ({tag}) failed: status {status}, "
                      f"exit {proc.returncode}: {msg}")
    log(f"a new QEMU loaded the migration ({tag})")


def wait_file_line(path, text, timeout, proc):
    """Waits until the file PATH has the line TEXT (a guest's serial log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path, errors="replace") as f:
                if any(line.rstrip("\r\n").strip() == text for line in f):
                    log(f"destination guest: {text}")
                    return
        except FileNotFoundError:
            pass
        if proc.poll() is not None:
            raise Failure(f"the destination QEMU exited ({proc.returncode}) before "
                          f"its guest printed {text!r}")
        time.sleep(0.2)
    raise Failure(f"the destination guest did not print {text!r} within {timeout} s")


def run_destination(qemu, base, path, tag, logdir, devices):
    """Starts a QEMU with DEVICES that loads the migration file, sets the
    tmp105 signal and runs the guest on until it has read the state back."""
    sock = os.path.join(logdir, f"incoming-{tag}.sock")
    err = open(os.path.join(logdir, f"incoming-{tag}.err"), "w+")
    cmd = [qemu] + base + devices + ["-S", "-qmp", f"unix:{sock},server=on,wait=off",
                                     "-incoming", f"file:{path}"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    try:
        qmp = QMP(sock)
        deadline = time.monotonic() + 120
        while True:
            status = qmp.cmd("query-migrate").get("status")
            if status == "completed":
                break
            if status == "failed" or proc.poll() is not None or time.monotonic() > deadline:
                err.seek(0)
                raise Failure(f"loading the migration ({tag}) failed: status {status}: "
                              f"{err.read().strip()}")
            time.sleep(0.2)
        log(f"a new QEMU loaded the migration ({tag}); it runs the guest on")
        qmp.cmd("qom-set", path="/machine/peripheral/tmp0", property="temperature",
                value=TMP_SIGNAL)
        qmp.cmd("cont")
        wait_file_line(os.path.join(logdir, "destination-serial.log"),
                       "HOTPLUG: checked 0", 180, proc)
        qmp.cmd("quit")
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def migrate(qmp, logdir, tag, load):
    path = os.path.join(logdir, f"migration-{tag}.bin")
    log(f"migrate to {path}")
    qmp.cmd("migrate", uri=f"file:{path}")
    deadline = time.monotonic() + 120
    while True:
        info = qmp.cmd("query-migrate")
        status = info.get("status")
        if status == "completed":
            break
        if status in ("failed", "cancelled"):
            raise Failure(f"migration ({tag}) {status}: {info.get('error-desc', '?')}")
        if time.monotonic() > deadline:
            raise Failure(f"migration ({tag}) not completed within 120 s: {status}")
        time.sleep(0.2)
    size = os.path.getsize(path)
    state = qmp.cmd("query-status")["status"]
    qmp.cmd("cont")
    log(f"migration ({tag}) completed, {size} bytes; was {state}, resumed")
    try:
        load(path, tag)
    finally:
        os.unlink(path)


def main(argv):
    if len(argv) != 8:
        print(__doc__, file=sys.stderr)
        return 2
    logdir, run_guest, guest_script, qemu, firmware, kernel, initrd = argv[1:]
    sock = os.path.join(logdir, "qmp.sock")
    cmd = [
        run_guest, "--qemu", qemu, "--timeout", "420",
        "--log", os.path.join(logdir, "serial.log"), "--test", guest_script, "--",
        "-qmp", f"unix:{sock},server=on,wait=off", "-device", ROOT_PORT,
    ] + HP0_WITH_STATE
    base = machine_args(firmware, kernel, initrd)
    dest_serial = os.path.join(logdir, "destination-serial.log")
    base_dest = machine_args(firmware, kernel, initrd, serial=f"file:{dest_serial}")
    hp0 = ["-device", "virtio-i2c-rust-pci,id=hp0,bus=rp0"]

    def run_with_state(path, tag):
        run_destination(qemu, base_dest, path, tag, logdir, HP0_WITH_STATE)

    def load_plugged(path, tag):
        load_incoming(qemu, base, path, tag, logdir, hp0)

    def load_unplugged(path, tag):
        load_incoming(qemu, base, path, tag, logdir, [])

    guest = Guest(cmd, os.path.join(logdir, "run-guest.out"))
    try:
        qmp = QMP(sock)
        # Cycle 0: state on the bus, migrated and read back in both QEMUs.
        guest.wait_line("HOTPLUG: written 0", 120)
        migrate(qmp, logdir, "with-state", run_with_state)
        qmp.cmd("qom-set", path="/machine/peripheral/tmp0", property="temperature",
                value=TMP_SIGNAL)
        log(f"source: qom-set tmp0 temperature {TMP_SIGNAL}")
        guest.wait_line("HOTPLUG: checked 0", 120)
        qmp.cmd("device_del", id="hp0")
        log("device_del hp0 (with rtc0 and tmp0 on its bus)")
        qmp.wait_event("DEVICE_DELETED", 60, {"device": "hp0"})
        log("event DEVICE_DELETED hp0")
        guest.wait_line("HOTPLUG: unplugged 0", 120)
        for cycle in (1, 2):
            guest.wait_line(f"HOTPLUG: ready {cycle}", 120)
            qmp.cmd("device_add", driver="virtio-i2c-rust-pci", id="hp0", bus="rp0")
            log("device_add virtio-i2c-rust-pci,id=hp0,bus=rp0")
            guest.wait_line(f"HOTPLUG: plugged {cycle}", 120)
            if cycle == 1:
                migrate(qmp, logdir, "plugged", load_plugged)
            qmp.cmd("device_del", id="hp0")
            log("device_del hp0")
            qmp.wait_event("DEVICE_DELETED", 60, {"device": "hp0"})
            log("event DEVICE_DELETED hp0")
            guest.wait_line(f"HOTPLUG: unplugged {cycle}", 120)
        guest.wait_line("HOTPLUG: ready 3", 120)
        migrate(qmp, logdir, "unplugged", load_unplugged)
        qmp.cmd("device_add", driver="virtio-i2c-rust-pci", id="hp0", bus="rp0")
        log("device_add virtio-i2c-rust-pci,id=hp0,bus=rp0")
        rc = guest.wait_exit(120)
        log(f"run-guest.sh exited with {rc}")
        return 0 if rc == 0 else 1
    except (Failure, QMPError, OSError) as e:
        time.sleep(0.5)
        if guest.proc.poll() is not None:
            e = f"{e} (run-guest.sh exited with {guest.proc.returncode}; see run-guest.out)"
        log(f"FAIL: {e}")
        guest.kill()
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
