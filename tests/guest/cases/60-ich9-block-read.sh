#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# q35's ICH9 SMBus (i2c-i801 in the guest, interrupt mode):
#   1. an at24c-eeprom at 0x58 (no backing file): I2C block writes of 8,
#      then an I2C block read of 16 returns all 16 (the pm_smbus patch of
#      qemu-patches; before it the last byte of such a read came back 0);
#   2. the same bytes through both adapters: one image file, made here
#      before the boot (256 distinct bytes, so a shifted or truncated read
#      shows), backs two read-only at24c-eeproms at 0x59, one on the ICH9
#      SMBus and one on a virtio-i2c-rust-pci emulated bus (vi2c0).  The
#      guest reads the same ranges through i2c-i801 (I2C block reads) and
#      through i2c-virtio on virtio-i2c-rust (I2C_RDWR write+read groups),
#      and compares them; the expected report has the image's bytes, so
#      both must equal what QEMU was given, not only each other.
# The report must equal 60-ich9-block-read.expected.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

# The image: byte i = (37 * i + 11) mod 256 (37 is odd: all 256 values
# differ).  QEMU sizes block backends in 512-byte sectors, so the at24c has
# rom-size=512 with 1-byte addresses, and the file holds the 256 bytes twice:
# with a 1-byte address the model may sit in either half (its pointer keeps
# bit 8 of the previous position), and both halves read the same.
python3 -c '
import sys
img = bytes((37 * i + 11) % 256 for i in range(256))
for name in sys.argv[1:]:
    with open(name, "wb") as f:
        f.write(img * 2)
' "$LOGDIR/ee-ich9.img" "$LOGDIR/ee-virtio.img"

rc=0
"$VI2C_ROOT/scripts/run-guest.sh" --timeout 180 --log "$LOGDIR/serial.log" \
    --test "$CASES_DIR/$CASE.guest.sh" -- \
    -device at24c-eeprom,bus=i2c,address=0x58,rom-size=256 \
    -drive "if=none,id=eeich9,format=raw,file=$LOGDIR/ee-ich9.img" \
    -device at24c-eeprom,bus=i2c,address=0x59,rom-size=512,address-size=1,writable=off,drive=eeich9 \
    -device virtio-i2c-rust-pci,id=vi2c0 \
    -drive "if=none,id=eevirtio,format=raw,file=$LOGDIR/ee-virtio.img" \
    -device at24c-eeprom,bus=vi2c0.0,address=0x59,rom-size=512,address-size=1,writable=off,drive=eevirtio \
    >"$LOGDIR/run-guest.out" 2>&1 || rc=$?
guest_section "$LOGDIR/serial.log" >"$LOGDIR/actual"
[ -s "$LOGDIR/actual" ] || fail "no report from the guest (run-guest.sh rc=$rc; log: $LOGDIR/run-guest.out)"
compare "$CASES_DIR/$CASE.expected" "$LOGDIR/actual"
[ "$rc" = 0 ] || fail "run-guest.sh exited with $rc (log: $LOGDIR/run-guest.out)"
