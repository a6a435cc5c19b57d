#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A minimal QMP client for the guest tests (Python standard library only).

As a module: QMP(path) connects to a QEMU started with
``-qmp unix:PATH,server=on,wait=off`` (retrying until the socket exists),
negotiates capabilities; ``cmd(name, **args)`` runs a command and returns
its result (raising QMPError on an error reply); ``wait_event(name, ...)``
waits for an event.

As a program: ``qmp.py SOCKET COMMAND [JSON-ARGUMENTS] [COMMAND ...]`` runs
the commands in order, e.g.

    qmp.py /tmp/qmp.sock qom-set '{"path": "tmp0", "property":
        "temperature", "value": 25500}' cont
"""

import json
import socket
import sys
import time


class QMPError(Exception):
    """A QMP error reply, a timeout or a lost connection."""


class QMP:
    def __init__(self, path, connect_timeout=30.0):
        deadline = time.monotonic() + connect_timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError) as e:
                sock.close()
                if time.monotonic() > deadline:
                    raise QMPError(f"cannot connect to {path}: {e}") from e
                time.sleep(0.05)
        self.sock = sock
        self.buf = b""
        self.events = []
        greeting = self._read(10.0)
        if "QMP" not in greeting:
            raise QMPError(f"unexpected greeting {greeting!r}")
        self.cmd("qmp_capabilities")

    def close(self):
        self.sock.close()

    def _read(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QMPError(f"no QMP message within {timeout} s")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise QMPError("QMP connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, timeout=60.0, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read(timeout)
            if "event" in reply:
                self.events.append(reply)
            elif "error" in reply:
                err = reply["error"]
                raise QMPError(f"{name}: {err.get('class')}: {err.get('desc')}")
            elif "return" in reply:
                return reply["return"]

    def wait_event(self, name, timeout=60.0, match=None):
        """Waits for event NAME whose data includes the items of MATCH."""
        match = match or {}

        def ok(ev):
            data = ev.get("data", {})
            return ev["event"] == name and all(data.get(k) == v for k, v in match.items())

        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ok(ev):
                    del self.events[: i + 1]
                    return ev
            left = deadline - time.monotonic()
            if left <= 0:
                raise QMPError(f"no {name} event {match} within {timeout} s")
            reply = self._read(left)
            if "event" in reply:
                self.events.append(reply)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    qmp = QMP(argv[1])
    args = argv[2:]
    while args:
        name = args.pop(0)
        kwargs = {}
        if args and args[0].lstrip().startswith("{"):
            kwargs = json.loads(args.pop(0))
        try:
            ret = qmp.cmd(name, **kwargs)
        except QMPError as e:
            print(f"qmp.py: {e}", file=sys.stderr)
            return 1
        print(json.dumps({name: ret}))
    qmp.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
