#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Make a test guest's initrd: the base initramfs (mkinitramfs.sh) followed by
# a small cpio with the test script as /test.sh (mode 755) and optional extra
# files under /files/.  The kernel unpacks concatenated gzip'd cpio archives
# one after the other, so the base is never rebuilt for a test.
#
# Usage: scripts/make-test-initrd.sh TEST.sh OUT [FILE...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || die "usage: ${0##*/} TEST.sh OUT [FILE...]"
TEST=$1 OUT=$2
shift 2
BASE=$VI2C_BUILD/guest/base.cpio.gz
[ -f "$BASE" ] || die "$BASE missing; run scripts/build-guest.sh first"
[ -f "$TEST" ] || die "test script $TEST not found"

T=$(mktemp -d "${TMPDIR:-/tmp}/vi2c-initrd.XXXXXX")
trap 'rm -rf "$T"' EXIT
install -m 755 "$TEST" "$T/test.sh"
if [ $# -gt 0 ]; then
    mkdir -p "$T/files"
    for f in "$@"; do
        [ -f "$f" ] || die "extra file $f not found"
        cp -p "$f" "$T/files/"
    done
fi
{
    cat "$BASE"
    (cd "$T" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1n)
} >"$OUT.new"
mv "$OUT.new" "$OUT"
