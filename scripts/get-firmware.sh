#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Firmware for the built QEMU, which has none: the +ds source has no blobs and
# the build uses --disable-install-blobs.  Takes Debian's seabios (bios-256k.bin)
# and qemu-system-data (microvm's qboot, bios-microvm.bin, and the option
# ROMs that -kernel needs: linuxboot_dma.bin for a bzImage, pvh.bin for an
# ELF vmlinux) from the QEMU source's suite,
# and unpacks them under $VI2C_BUILD/firmware.  The host's qemu packages are
# not used.  Pass the result to QEMU with: -L $VI2C_BUILD/firmware/qemu
#
# Usage: scripts/get-firmware.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apt.sh"

DL=$VI2C_BUILD/downloads/firmware
FW=$VI2C_FIRMWARE
# Files the test machines need, all in one -L directory.
NEEDED=(bios-256k.bin bios-microvm.bin linuxboot_dma.bin linuxboot.bin pvh.bin kvmvapic.bin)
vi2c_lock firmware

have_all() {
    local f
    for f in "${NEEDED[@]}"; do [ -f "$FW/qemu/$f" ] || return 1; done
}
if have_all && stamp_ok firmware "$(hash_files "$0")"; then
    log "firmware is up to date: $FW/qemu"
    exit 0
fi

# Same suite as the QEMU source, so the ROMs match QEMU 10.0 (SeaBIOS 1.16.3
# also avoids a 32 s AHCI timeout that 1.16.2 has with QEMU 10.0).
apt_priv_download "$DL" "seabios/$VI2C_NEXT_SUITE" "qemu-system-data/$VI2C_NEXT_SUITE"

rm -rf "$FW"
mkdir -p "$FW/root" "$FW/qemu"
for p in seabios qemu-system-data; do
    dpkg-deb -x "$(deb_path "$DL" "$p")" "$FW/root"
done
# One flat directory of real files (the packages link between their
# directories, partly with absolute links into the host's /usr/share).
for d in "$FW/root/usr/share/qemu" "$FW/root/usr/share/seabios"; do
    [ -d "$d" ] || continue
    find "$d" -maxdepth 1 \( -type f -o -type l \) -print0 |
        while IFS= read -r -d '' f; do
            n=${f##*/}
            [ -e "$FW/qemu/$n" ] && continue
            t=$(readlink -f "$f")
            case $t in "$FW"/*) ;; *) t=$FW/root/usr/share/seabios/${t##*/} ;; esac
            [ -f "$t" ] && cp "$t" "$FW/qemu/$n"
        done
done
rm -rf "$FW/root"
have_all || die "firmware incomplete in $FW/qemu (want ${NEEDED[*]})"
stamp_set firmware "$(hash_files "$0")"
log "firmware in $FW/qemu: $(find "$FW/qemu" -type f | wc -l) files ($(basename "$(deb_path "$DL" seabios)" .deb), $(basename "$(deb_path "$DL" qemu-system-data)" .deb))"
