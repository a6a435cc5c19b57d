#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# End-to-end smoke test of the test infrastructure: boots the guest with the
# built QEMU on q35, an AT24C EEPROM (0x58) and a TMP105 (0x48) on the ICH9
# SMBus, and checks the exact output of i2c-tools in the guest.
#
# Usage: scripts/smoke-guest.sh [run-guest.sh options]
# Exit status: 0 when the output matches, 1 otherwise.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LOGDIR=$VI2C_BUILD/logs
mkdir -p "$LOGDIR" "$VI2C_BUILD/tmp"
TMP=$(mktemp -d "$VI2C_BUILD/tmp/smoke.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# The guest side.  Output between the markers is compared; trailing blanks
# are ignored (i2cdetect pads its rows).
cat >"$TMP/test.sh" <<'EOF'
#!/bin/sh
echo "--- begin smoke"
echo "--- loaded modules"
cut -d' ' -f1 /proc/modules | sort
echo "--- i2cdetect -l"
i2cdetect -l
echo "--- i2cdetect -y 0"
i2cdetect -y 0
echo "--- i2cget -y 0 0x58 0x10 b"
i2cget -y 0 0x58 0x10 b
echo "--- i2cset -y 0 0x58 0x10 0xa5 b"
i2cset -y 0 0x58 0x10 0xa5 b
echo "rc=$?"
echo "--- i2cget -y 0 0x58 0x10 b"
i2cget -y 0 0x58 0x10 b
echo "--- i2cget -y 0 0x58 0x11 b"
i2cget -y 0 0x58 0x11 b
echo "--- end smoke"
EOF

{
    cat <<'EOF'
--- loaded modules
i2c_dev
i2c_i801
i2c_smbus
i2c_virtio
--- i2cdetect -l
EOF
    printf 'i2c-0\tsmbus     \tSMBus I801 adapter at 0700      \tSMBus adapter\n'
    cat <<'EOF'
--- i2cdetect -y 0
     0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f
00:                         -- -- -- -- -- -- -- --
10: -- -- -- -- -- -- -- -- -- -- -- -- -- -- -- --
20: -- -- -- -- -- -- -- -- -- -- -- -- -- -- -- --
30: -- -- -- -- -- -- -- -- -- -- -- -- -- -- -- --
40: -- -- -- -- -- -- -- -- 48 -- -- -- -- -- -- --
50: 50 51 52 53 54 55 56 57 58 -- -- -- -- -- -- --
60: -- -- -- -- -- -- -- -- -- -- -- -- -- -- -- --
70: -- -- -- -- -- -- -- --
--- i2cget -y 0 0x58 0x10 b
0x00
--- i2cset -y 0 0x58 0x10 0xa5 b
rc=0
--- i2cget -y 0 0x58 0x10 b
0xa5
--- i2cget -y 0 0x58 0x11 b
0x00
EOF
} >"$TMP/expected"

LOG=$LOGDIR/smoke-guest.log
set +e
"$VI2C_ROOT/scripts/run-guest.sh" --log "$LOG" "$@" --test "$TMP/test.sh" -- \
    -device at24c-eeprom,address=0x58,rom-size=256 \
    -device tmp105,address=0x48
rc=$?
set -e

sed -n '/^--- begin smoke$/,/^--- end smoke$/p' "$LOG" | sed -e '1d' -e '$d' -e 's/[[:space:]]*$//' >"$TMP/actual"
if [ "$rc" != 0 ]; then
    log "FAIL: guest run returned $rc (log: $LOG)"
    exit 1
fi
if ! diff -u "$TMP/expected" "$TMP/actual" >"$TMP/diff"; then
    cat "$TMP/diff" >&2
    log "FAIL: guest output differs from the expected output (log: $LOG)"
    exit 1
fi
log "PASS ($(wc -l <"$TMP/expected") lines of guest output as expected; log: $LOG)"
