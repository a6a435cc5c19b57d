#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Unplugs a device through QMP and watches QEMU's main loop meanwhile.

``unplug.py SOCKET ID [TIMEOUT]``: sends ``device_del`` for ID, then runs
``query-status`` every 0.5 s until the ``DEVICE_DELETED`` event of ID
arrives (or TIMEOUT seconds, default 90, pass).  Each command's round trip
is the time QEMU's main loop (which holds the big lock while it runs a
device's unrealize) took to answer.  (Polling faster would take the CPU
of the nested guest this QEMU runs, in the host guest's TCG.)  Prints one
line:

    deleted=1 after=S device_del_ms=N polls=N worst_ms=N

and exits 0 when the event came.  Runs in the host guest (L1) of
tests/hostguest, next to the QEMU it talks to; uses tests/guest/qmp.py.
"""

import sys
import time

sys.path.insert(0, "/hg")
from qmp import QMP, QMPError  # noqa: E402


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    sock, dev = argv[1], argv[2]
    timeout = float(argv[3]) if len(argv) > 3 else 90.0
    qmp = QMP(sock)
    t0 = time.monotonic()
    qmp.cmd("device_del", id=dev)
    del_ms = (time.monotonic() - t0) * 1000
    deadline = t0 + timeout
    worst = 0.0
    polls = 0
    deleted = False
    while time.monotonic() < deadline:
        t = time.monotonic()
        try:
            qmp.cmd("query-status", timeout=30.0)
        except QMPError as e:
            print(f"query-status failed: {e}")
            break
        worst = max(worst, time.monotonic() - t)
        polls += 1
        if any(
            ev["event"] == "DEVICE_DELETED" and ev.get("data", {}).get("device") == dev
            for ev in qmp.events
        ):
            deleted = True
            break
        time.sleep(0.5)
    print(
        f"deleted={int(deleted)} after={time.monotonic() - t0:.1f} "
        f"device_del_ms={del_ms:.0f} polls={polls} worst_ms={worst * 1000:.0f}"
    )
    return 0 if deleted else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
