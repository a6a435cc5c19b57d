#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build the test guest's pieces under $VI2C_BUILD/guest (amd64) or
# $VI2C_BUILD/guest-arm64 from Debian packages:
#   - a 6.12 kernel built for bookworm (bookworm-backports; gcc-12, like the
#     host, so out-of-tree modules build with the host compiler, or for
#     arm64 with the host's gcc-aarch64-linux-gnu, also gcc-12)
#   - i2c-virtio.ko, built out of tree from that kernel's source: no Debian
#     kernel enables CONFIG_I2C_VIRTIO; and a second one made to speak the
#     protocol of Linux 5.14 and 5.15 (i2c-virtio-5.15-protocol.patch)
#   - the kernel uncompressed: for amd64 an ELF vmlinux (PVH entry, boots
#     much faster under TCG), for arm64 the raw Image that QEMU's -kernel
#     loads
#   - busybox-static, i2c-tools and their libraries from bookworm
#   - the base initramfs (mkinitramfs.sh) and, for amd64, QEMU's firmware
#     (get-firmware.sh; the arm64 guest boots without any)
# Writes <guest dir>/guest.env for the other scripts.
#
# Usage: scripts/build-guest.sh
# Env:   VI2C_GUEST_ARCH       amd64 (default) or arm64
#        VI2C_KERNEL_SUITE     where to take the kernel from: bookworm-backports
#                              (default; falls back to bookworm-security's
#                              linux-6.12 when backports has no 6.12 any more)
#                              or bookworm-security
#        VI2C_KERNEL_REFRESH=1 resolve the kernel version again (default: keep
#                              the one resolved by the first run; the arm64
#                              guest takes the amd64 guest's version when
#                              that guest exists, so both run one kernel)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apt.sh"

ARCH=${VI2C_GUEST_ARCH:-amd64}
# Per architecture: the guest directory, the downloads, the compiler
# prefix and kbuild's ARCH for the module.  The kernel source package
# ("all") is shared: downloads/guest.
case $ARCH in
amd64)
    G=$VI2C_BUILD/guest
    DL=$VI2C_BUILD/downloads/guest
    CROSS=""
    KMAKE=()
    ;;
arm64)
    G=$VI2C_BUILD/guest-arm64
    DL=$VI2C_BUILD/downloads/guest-arm64
    CROSS=aarch64-linux-gnu-
    KMAKE=(ARCH=arm64 "CROSS_COMPILE=$CROSS")
    ;;
*) die "VI2C_GUEST_ARCH must be amd64 or arm64, not '$ARCH'" ;;
esac
SRCDL=$VI2C_BUILD/downloads/guest
KSUITE=${VI2C_KERNEL_SUITE:-bookworm-backports}
KSERIES=6.12
mkdir -p "$G" "$DL" "$SRCDL"
need_cmd dpkg-deb depmod make "${CROSS}gcc" "${CROSS}strip" python3 zstd xz
vi2c_lock "guest-$ARCH"

# --- 1. which kernel -----------------------------------------------------------
# The first run resolves the newest 6.12 build for bookworm and records it;
# later runs keep it, so the guest does not change under the tests.
resolve_kernel() {
    local meta="" ver="" dep
    case $KSUITE in
    bookworm-backports)
        meta=linux-headers-$ARCH
        ver=$(apt_priv_newest "$meta" "^${KSERIES//./\\.}\\." bookworm-backports)
        if [ -z "$ver" ]; then
            warn "bookworm-backports has no $KSERIES kernel any more; using bookworm-security"
        fi
        ;;
    bookworm-security) ;;
    *) die "VI2C_KERNEL_SUITE must be bookworm-backports or bookworm-security" ;;
    esac
    if [ -z "$ver" ]; then
        meta=linux-headers-$KSERIES-$ARCH
        ver=$(apt_priv_newest "$meta" "^${KSERIES//./\\.}\\." bookworm-security bookworm)
    fi
    [ -n "$ver" ] || die "no $KSERIES kernel for bookworm found in the archive"
    # The meta package names the ABI, e.g. linux-headers-6.12.95+deb12-amd64.
    dep=$(apt_priv apt-cache show "$meta:$ARCH=$ver" | sed -n 's/^Depends: //p' | head -n1 |
        grep -oE "linux-headers-${KSERIES//./\\.}\\.[^ ,]*-$ARCH" | head -n1)
    [ -n "$dep" ] || die "cannot find the kernel ABI in $meta=$ver"
    KABI=${dep#linux-headers-}
    KABI=${KABI%-"$ARCH"}
    KPKGVER=$ver
}

KSUITE_USED=""
if [ -f "$G/kernel.env" ]; then . "$G/kernel.env"; fi
if [ "$KSUITE_USED" != "$KSUITE" ] || [ "${VI2C_KERNEL_REFRESH:-0}" = 1 ]; then
    AMD64_ENV=$VI2C_BUILD/guest/kernel.env
    if [ "$ARCH" != amd64 ] && [ -f "$AMD64_ENV" ] && [ "${VI2C_KERNEL_REFRESH:-0}" != 1 ] &&
        [ "$(sed -n "s/^KSUITE_USED=//p" "$AMD64_ENV")" = "$KSUITE" ]; then
        # The amd64 guest's kernel version, so that both guests run one kernel.
        cp "$AMD64_ENV" "$G/kernel.env"
    else
        apt_priv_update
        resolve_kernel
        printf 'KSUITE_USED=%q\nKABI=%q\nKPKGVER=%q\n' "$KSUITE" "$KABI" "$KPKGVER" >"$G/kernel.env"
    fi
    . "$G/kernel.env"
fi
KVER=$KABI-$ARCH
log "guest kernel: $KVER (Debian $KPKGVER)"

# --- 2. downloads ----------------------------------------------------------------
# The signed image is what linux-image-amd64 installs; the unsigned one has the
# same kernel and is the fallback.
# Packages of the guest's architecture by name:ARCH; linux-kbuild has the
# programs kbuild runs on the build host (amd64 for both guests).
if ! compgen -G "$DL/linux-image-${KVER}_${KPKGVER}_*.deb" >/dev/null &&
    ! compgen -G "$DL/linux-image-${KVER}-unsigned_${KPKGVER}_*.deb" >/dev/null; then
    apt_priv_update
    if apt_priv apt-cache show "linux-image-$KVER:$ARCH=$KPKGVER" >/dev/null 2>&1; then
        apt_priv_download "$DL" "linux-image-$KVER:$ARCH=$KPKGVER"
    else
        apt_priv_download "$DL" "linux-image-$KVER-unsigned:$ARCH=$KPKGVER"
    fi
fi
apt_priv_download "$DL" \
    "linux-headers-$KVER:$ARCH=$KPKGVER" "linux-headers-$KABI-common=$KPKGVER" \
    "linux-kbuild-$KABI:amd64=$KPKGVER" \
    "busybox-static:$ARCH" "i2c-tools:$ARCH" "libi2c0:$ARCH" "libc6:$ARCH"
apt_priv_download "$SRCDL" "linux-source-$KSERIES=$KPKGVER"
IMAGE_DEB=$(compgen -G "$DL/linux-image-${KVER}_${KPKGVER}_*.deb" || compgen -G "$DL/linux-image-${KVER}-unsigned_${KPKGVER}_*.deb")

# --- 3. unpack ---------------------------------------------------------------------
# unpack DIR DEB...: extract the packages into DIR unless already done.
unpack() {
    local dir=$1 key
    shift
    key=$(printf '%s\n' "${@##*/}")
    if [ -f "$dir/.unpacked" ] && [ "$(cat "$dir/.unpacked")" = "$key" ]; then
        return 0
    fi
    log "unpacking ${*##*/} into ${dir#"$VI2C_BUILD"/}"
    rm -rf "$dir"
    mkdir -p "$dir"
    local d
    for d in "$@"; do dpkg-deb -x "$d" "$dir"; done
    printf '%s\n' "$key" >"$dir/.unpacked"
}
unpack "$G/kernel" "$IMAGE_DEB"
unpack "$G/headers" "$(deb_path "$DL" "linux-headers-$KVER" "$KPKGVER")" \
    "$(deb_path "$DL" "linux-headers-$KABI-common" "$KPKGVER")" \
    "$(deb_path "$DL" "linux-kbuild-$KABI" "$KPKGVER")"
unpack "$G/busybox" "$(deb_path "$DL" busybox-static)"
unpack "$G/i2c-tools" "$(deb_path "$DL" i2c-tools)" "$(deb_path "$DL" libi2c0)"
unpack "$G/libc" "$(deb_path "$DL" libc6)"

# Module directory: /lib/modules on bookworm kernels, /usr/lib/modules later.
MODROOT=$G/kernel
[ -d "$MODROOT/lib/modules/$KVER" ] || MODROOT=$G/kernel/usr
MODDIR=$MODROOT/lib/modules/$KVER
[ -d "$MODDIR" ] || die "no modules for $KVER in $G/kernel"
BZIMAGE=$G/kernel/boot/vmlinuz-$KVER
[ -f "$BZIMAGE" ] || die "$BZIMAGE missing"

# The headers' Makefile includes the common part by its installed absolute path.
HDR=$G/headers/usr/src/linux-headers-$KVER
[ -f "$HDR/Makefile" ] || die "$HDR/Makefile missing"
sed -i "s#^include .*/usr/src/linux-headers-#include $G/headers/usr/src/linux-headers-#" "$HDR/Makefile"
cc_text=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"/\1/p' "$HDR/.config")
case $cc_text in
*" $("${CROSS}gcc" -dumpfullversion)"*) ;;
*) warn "kernel built with '$cc_text', host ${CROSS}gcc is $("${CROSS}gcc" -dumpfullversion); the module may not build" ;;
esac

# --- 4. i2c-virtio.ko ------------------------------------------------------------------
MOD=$G/i2c-virtio
SRCDEB=$(deb_path "$SRCDL" "linux-source-$KSERIES" "$KPKGVER")
if [ ! -f "$MOD/i2c-virtio.c" ] || [ "$(cat "$MOD/.source" 2>/dev/null)" != "${SRCDEB##*/}" ]; then
    log "extracting i2c-virtio.c from ${SRCDEB##*/}"
    rm -rf "$MOD"
    mkdir -p "$MOD"
    # Stream: the source tarball inside the .deb is ~150 MB.
    dpkg-deb --fsys-tarfile "$SRCDEB" |
        tar -xO "./usr/src/linux-source-$KSERIES.tar.xz" |
        tar -xJO "linux-source-$KSERIES/drivers/i2c/busses/i2c-virtio.c" >"$MOD/i2c-virtio.c"
    [ -s "$MOD/i2c-virtio.c" ] || die "i2c-virtio.c not found in ${SRCDEB##*/}"
    printf '%s\n' "${SRCDEB##*/}" >"$MOD/.source"
fi
# build_module DIR: DIR/i2c-virtio.c -> DIR/i2c-virtio.ko, for $KVER.
build_module() {
    local dir=$1 key
    key=$(hash_str "$KVER" "${KMAKE[*]}" "$(hash_files "$dir/i2c-virtio.c" "$G/headers/.unpacked")")
    if [ ! -f "$dir/i2c-virtio.ko" ] || [ "$(cat "$dir/.key" 2>/dev/null)" != "$key" ]; then
        log "building ${dir##*/}/i2c-virtio.ko against $KVER"
        echo 'obj-m := i2c-virtio.o' >"$dir/Kbuild"
        # No BTF for the module: that needs pahole, and the kernel accepts
        # modules without it (MODULE_ALLOW_BTF_MISMATCH).
        make -s -C "$HDR" M="$dir" ${KMAKE[@]+"${KMAKE[@]}"} CONFIG_DEBUG_INFO_BTF_MODULES= modules \
            >"$dir/build.log" 2>&1 || {
            cat "$dir/build.log" >&2
            die "building $dir/i2c-virtio.ko failed"
        }
        "${CROSS}strip" --strip-debug "$dir/i2c-virtio.ko"
        printf '%s\n' "$key" >"$dir/.key"
    fi
    local vermagic
    vermagic=$(modinfo -F vermagic "$dir/i2c-virtio.ko")
    [ "${vermagic%% *}" = "$KVER" ] || die "$dir/i2c-virtio.ko has vermagic '$vermagic', want $KVER"
}
KO=$MOD/i2c-virtio.ko
build_module "$MOD"

# The same driver speaking the protocol of Linux 5.14 and 5.15 (no M_RD flag,
# no zero-length requests, no feature negotiated), for the tests of the
# device's support of those guests.  Not installed: tests load it in place
# of the first.
LEGACY=$G/i2c-virtio-5.15
LEGACY_PATCH=$VI2C_ROOT/scripts/i2c-virtio-5.15-protocol.patch
need_cmd patch
legkey=$(hash_files "$MOD/i2c-virtio.c" "$LEGACY_PATCH")
if [ ! -f "$LEGACY/i2c-virtio.c" ] || [ "$(cat "$LEGACY/.source" 2>/dev/null)" != "$legkey" ]; then
    rm -rf "$LEGACY"
    mkdir -p "$LEGACY"
    cp "$MOD/i2c-virtio.c" "$LEGACY/i2c-virtio.c"
    patch -s --no-backup-if-mismatch -d "$LEGACY" -p1 <"$LEGACY_PATCH" >"$LEGACY/patch.log" 2>&1 || {
        cat "$LEGACY/patch.log" >&2
        die "$LEGACY_PATCH does not apply to the i2c-virtio.c of ${SRCDEB##*/}"
    }
    printf '%s\n' "$legkey" >"$LEGACY/.source"
fi
LEGACY_KO=$LEGACY/i2c-virtio.ko
build_module "$LEGACY"

# Install it into the module tree, so that it is resolved like any other module.
mkdir -p "$MODDIR/updates"
if ! cmp -s "$KO" "$MODDIR/updates/i2c-virtio.ko"; then
    cp "$KO" "$MODDIR/updates/i2c-virtio.ko"
fi
if [ ! -f "$MODDIR/modules.dep" ] || [ "$MODDIR/updates/i2c-virtio.ko" -nt "$MODDIR/modules.dep" ]; then
    log "depmod $KVER"
    depmod -b "$MODROOT" "$KVER"
fi
grep -q '^updates/i2c-virtio.ko:' "$MODDIR/modules.dep" || die "depmod did not pick up i2c-virtio.ko"

# --- 5. vmlinux (amd64) or Image (arm64) -------------------------------------------------
case $ARCH in
amd64)
    VMLINUX=$G/vmlinux-$KVER
    if [ ! -f "$VMLINUX" ] || [ "$BZIMAGE" -nt "$VMLINUX" ]; then
        if ! python3 "$VI2C_ROOT/scripts/extract-vmlinux.py" "$BZIMAGE" "$VMLINUX" >&2; then
            warn "could not extract a PVH vmlinux; guests boot the bzImage (slower)"
            rm -f "$VMLINUX"
        fi
    fi
    KERNEL=$BZIMAGE
    [ -f "$VMLINUX" ] && KERNEL=$VMLINUX
    ;;
arm64)
    # QEMU's -kernel boots the raw Image.  Debian's 6.12 arm64 vmlinuz is
    # that Image already (no CONFIG_EFI_ZBOOT; copied), other builds may
    # compress it (gzip, EFI zboot): extract-vmlinux.py --arm64 takes all.
    KERNEL=$G/Image-$KVER
    if [ ! -f "$KERNEL" ] || [ "$BZIMAGE" -nt "$KERNEL" ]; then
        python3 "$VI2C_ROOT/scripts/extract-vmlinux.py" --arm64 "$BZIMAGE" "$KERNEL" >&2 ||
            die "cannot extract the arm64 Image from $BZIMAGE"
    fi
    ;;
esac

# --- 6. summary for the other scripts -------------------------------------------------
cat >"$G/guest.env.new" <<EOF
# Generated by scripts/build-guest.sh
VI2C_GUEST_ARCH=$ARCH
VI2C_GUEST_DIR=$G
VI2C_GUEST_KVER=$KVER
VI2C_GUEST_KPKGVER=$KPKGVER
VI2C_GUEST_KERNEL=$KERNEL
VI2C_GUEST_BZIMAGE=$BZIMAGE
VI2C_GUEST_MODDIR=$MODDIR
VI2C_GUEST_BUSYBOX=$G/busybox/bin/busybox
VI2C_GUEST_I2CTOOLS=$G/i2c-tools
VI2C_GUEST_LIBC=$G/libc
VI2C_GUEST_I2C_VIRTIO_KO=$KO
VI2C_GUEST_I2C_VIRTIO_5_15_KO=$LEGACY_KO
EOF
mv "$G/guest.env.new" "$G/guest.env"

VI2C_GUEST_ARCH=$ARCH "$VI2C_ROOT/scripts/mkinitramfs.sh"
[ "$ARCH" != amd64 ] || "$VI2C_ROOT/scripts/get-firmware.sh"
log "done in $(elapsed) s: kernel $KERNEL"
