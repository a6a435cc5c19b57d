#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Traffic capture (capture=FILE) decoded by the real tshark: the guest
# (85-capture.guest.sh) probes the emulated bus with i2cdetect, writes and
# reads the EEPROM, tries a refused address and a group that reaches one,
# then makes 300 reads in a row.  Its report must equal
# 85-capture.expected; tshark's decode of the capture (address, flags, the
# bytes with the address byte, the outcome in the comment), with the 300
# reads counted instead of listed, must equal 85-capture.tshark.expected.
# A capture-max-bytes too small for the session stops the capture with a
# last record and one warning, and the file stays within the bound.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

command -v tshark >/dev/null || fail "tshark is missing (scripts/setup-host.sh installs it)"
cap=$LOGDIR/i2c.pcapng
rc=0
"$VI2C_ROOT/scripts/run-guest.sh" --timeout 240 --log "$LOGDIR/serial.log" \
    --test "$CASES_DIR/$CASE.guest.sh" -- \
    -device "virtio-i2c-rust-pci,id=vi2c0,address=0x48,,0x50,capture=$cap,capture-bus=3" \
    -device at24c-eeprom,bus=vi2c0.0,address=0x50,rom-size=256 \
    -device tmp105,bus=vi2c0.0,address=0x48 \
    >"$LOGDIR/run-guest.out" 2>&1 || rc=$?
guest_section "$LOGDIR/serial.log" >"$LOGDIR/actual"
[ -s "$LOGDIR/actual" ] || fail "no report from the guest (run-guest.sh rc=$rc; log: $LOGDIR/run-guest.out)"
compare "$CASES_DIR/$CASE.expected" "$LOGDIR/actual"
[ "$rc" = 0 ] || fail "run-guest.sh exited with $rc (log: $LOGDIR/run-guest.out)"

[ "$(stat -c %a "$cap")" = 600 ] || fail "$cap has mode $(stat -c %a "$cap"), not 600"
# One line per record: bus, address, flags, the bytes, the comment.  The
# 300 reads at the end are [W1 R1] pairs: counted, not listed.
tshark -r "$cap" -T fields -E separator='|' \
    -e i2c.bus -e i2c.addr -e i2c.flags -e data.data -e frame.comment \
    >"$LOGDIR/tshark.txt" 2>"$LOGDIR/tshark.err" ||
    fail "tshark cannot read $cap (log: $LOGDIR/tshark.err)"
total=$(wc -l <"$LOGDIR/tshark.txt")
keep=$((total - 600))
[ "$keep" -gt 0 ] || fail "only $total records in $cap"
{
    head -n "$keep" "$LOGDIR/tshark.txt"
    tail -n 600 "$LOGDIR/tshark.txt" | sort | uniq -c | sed 's/^ *//'
} >"$LOGDIR/tshark.actual"
compare "$CASES_DIR/$CASE.tshark.expected" "$LOGDIR/tshark.actual"

# The bound: 4 KiB holds the start of the same session, then a stop record.
small=$LOGDIR/small.pcapng
"$VI2C_ROOT/scripts/run-guest.sh" --timeout 240 --log "$LOGDIR/serial-small.log" \
    --test "$CASES_DIR/$CASE.guest.sh" -- \
    -device "virtio-i2c-rust-pci,id=vi2c0,address=0x48,,0x50,capture=$small,capture-max-bytes=4096" \
    -device at24c-eeprom,bus=vi2c0.0,address=0x50,rom-size=256 \
    -device tmp105,bus=vi2c0.0,address=0x48 \
    >"$LOGDIR/run-guest-small.out" 2>&1 || fail "the bounded run failed (log: $LOGDIR/run-guest-small.out)"
size=$(stat -c %s "$small")
[ "$size" -le 4096 ] || fail "$small is $size bytes, over capture-max-bytes=4096"
tshark -r "$small" -T fields -e frame.comment >"$LOGDIR/small.txt" 2>&1 ||
    fail "tshark cannot read $small (log: $LOGDIR/small.txt)"
tail -n 1 "$LOGDIR/small.txt" | grep 'stopped' >/dev/null ||
    fail "the last record of $small does not say the capture stopped: $(tail -n 1 "$LOGDIR/small.txt")"
n=$(grep -c 'warning: virtio-i2c-rust vi2c0: capture to .* stopped: ' "$LOGDIR/run-guest-small.out" || true)
[ "$n" = 1 ] || fail "$n warnings that the capture stopped in $LOGDIR/run-guest-small.out, not 1"
note "$total records decoded; the bounded capture stopped at $size bytes"
