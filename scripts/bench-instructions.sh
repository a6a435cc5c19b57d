#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Instructions per request of the request-path benchmark's cases, counted by
# valgrind's callgrind: unlike nanoseconds, they do not depend on the load of
# the machine.  Each case runs twice (N and 2N iterations); the difference,
# divided by N and by the requests per iteration, is the count per request
# (set-up cancels out).
#
# usage: scripts/bench-instructions.sh [N]   (default N=20000)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cmd valgrind
n=${1:-20000}
cd "$VI2C_ROOT"
bin=$(cargo bench --bench request_path --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json, sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "request_path":
        print(m["executable"])')
[ -x "$bin" ] || die "the request_path benchmark did not build"
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
        awk '/Collected :/ { print $4 }'
}
printf '%-16s %s\n' case "instructions/request"
for c in adapter1:1 adapter-group:2 rust1:1 c1:1 rust-group:2 c-group:2; do
    name=${c%%:*} per=${c#*:}
    a=$(count "$name" "$n")
    b=$(count "$name" $((2 * n)))
    printf '%-16s %s\n' "$name" "$(( (b - a) / n / per ))"
done
