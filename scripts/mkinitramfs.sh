#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build the base initramfs of the test guest, $VI2C_BUILD/guest/base.cpio.gz
# (or guest-arm64/base.cpio.gz), from what build-guest.sh unpacked:
#   - busybox (every applet as a symlink) and the real i2c-tools with their
#     libraries (libi2c, libc, ld-linux) from bookworm
#   - kernel modules with their dependencies (from modules.dep, decompressed):
#     loaded at boot:  i2c-dev, i2c-i801 (+ i2c-smbus; amd64 only: q35's
#                      ICH9 SMBus), i2c-virtio (ours), virtio_pci when it
#                      is not built in, virtio_mmio (microvm's and Arm
#                      virt's virtio transports)
#     only copied:     at24, 9p, 9pnet_virtio, netfs; "modprobe NAME" loads
#                      them (and their dependencies) from a test; and
#                      i2c-virtio-5.15/i2c-virtio.ko, the driver speaking
#                      the protocol of Linux 5.15, for "insmod"
#   - /init: mounts proc, sys and devtmpfs, loads the modules, runs /test.sh,
#     prints "RESULT: rc=<n>" and powers off
# A test adds its /test.sh as a second cpio appended to this one
# (make-test-initrd.sh), so the base is built only once.
#
# Usage: scripts/mkinitramfs.sh
# Env:   VI2C_GUEST_ARCH   amd64 (default) or arm64
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ARCH=${VI2C_GUEST_ARCH:-amd64}
# Per architecture: the guest directory, the multiarch library directory,
# the dynamic loader (and the path programs name it by), the modules.
case $ARCH in
amd64)
    G=$VI2C_BUILD/guest
    LIBDIR=lib/x86_64-linux-gnu
    LOADER=ld-linux-x86-64.so.2
    LOADER_LINK=lib64/ld-linux-x86-64.so.2
    AUTOLOAD=(virtio_pci virtio_mmio i2c-dev i2c-i801 i2c-virtio)
    ;;
arm64)
    G=$VI2C_BUILD/guest-arm64
    LIBDIR=lib/aarch64-linux-gnu
    LOADER=ld-linux-aarch64.so.1
    LOADER_LINK=lib/ld-linux-aarch64.so.1
    # No i2c-i801: an x86 chipset's SMBus.
    AUTOLOAD=(virtio_pci virtio_mmio i2c-dev i2c-virtio)
    ;;
*) die "VI2C_GUEST_ARCH must be amd64 or arm64, not '$ARCH'" ;;
esac
COPYONLY=(at24 9p 9pnet_virtio netfs)
OUT=$G/base.cpio.gz
[ -f "$G/guest.env" ] || die "$G/guest.env missing; run VI2C_GUEST_ARCH=$ARCH scripts/build-guest.sh first"
. "$G/guest.env"
[ "$VI2C_GUEST_ARCH" = "$ARCH" ] || die "$G/guest.env is of $VI2C_GUEST_ARCH, not $ARCH"
need_cmd cpio gzip xz zstd readelf
vi2c_lock "initramfs-$ARCH"
STAMP=base-initramfs
[ "$ARCH" = amd64 ] || STAMP=base-initramfs-$ARCH

KVER=$VI2C_GUEST_KVER
MODDIR=$VI2C_GUEST_MODDIR
BB=$VI2C_GUEST_BUSYBOX
I2CT=$VI2C_GUEST_I2CTOOLS
LIBC=$VI2C_GUEST_LIBC
TOOLS=(i2cdetect i2cget i2cset i2cdump i2ctransfer)

key=$(hash_str "${AUTOLOAD[*]}" "${COPYONLY[*]}" \
    "$(hash_files "$0" "$G/guest.env" "$MODDIR/modules.dep" "$BB" "$I2CT/.unpacked" "$LIBC/.unpacked" \
        "$MODDIR/updates/i2c-virtio.ko" "$VI2C_GUEST_I2C_VIRTIO_5_15_KO")")
if stamp_ok "$STAMP" "$key" && [ -f "$OUT" ]; then
    log "base initramfs is up to date: $OUT"
    exit 0
fi

R=$(mktemp -d "$G/initramfs.XXXXXX")
trap 'rm -rf "$R"' EXIT
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,"$LIBDIR",lib/modules/"$KVER",proc,sys,dev,tmp,run,etc,root}
mkdir -p "$R/$(dirname "$LOADER_LINK")"

# --- busybox ------------------------------------------------------------------------
cp "$BB" "$R/bin/busybox"
if [ "$ARCH" = amd64 ]; then
    for a in $("$BB" --list); do
        [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"
    done
else
    # The host cannot run it to list its applets: /init installs their
    # links at boot ("busybox --install -s", which keeps existing files
    # such as the real i2c-tools).
    ln -s busybox "$R/bin/sh"
fi

# --- i2c-tools and the libraries they need ---------------------------------------------
for t in "${TOOLS[@]}"; do
    install -m 755 "$I2CT/usr/sbin/$t" "$R/usr/sbin/$t"
done
cp -a "$I2CT/usr/$LIBDIR"/libi2c.so.0* "$R/$LIBDIR/"
cp -L "$LIBC/$LIBDIR/libc.so.6" "$R/$LIBDIR/"
cp -L "$LIBC/$LIBDIR/$LOADER" "$R/$LIBDIR/"
ln -s "/$LIBDIR/$LOADER" "$R/$LOADER_LINK"
# Every NEEDED library must be in the image, and the loader the programs
# name (PT_INTERP) where they look for it.
for t in "${TOOLS[@]}"; do
    for n in $(readelf -d "$R/usr/sbin/$t" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        [ -e "$R/$LIBDIR/$n" ] || die "$t needs $n, which is not in the initramfs"
    done
    interp=$(readelf -l "$R/usr/sbin/$t" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')
    [ "$interp" = "/$LOADER_LINK" ] || die "$t asks for the loader '$interp', the initramfs has /$LOADER_LINK"
done

# --- modules ------------------------------------------------------------------------------
# modules.dep: "rel/path/name.ko[.xz]: dep1 dep2 ..." (paths relative to MODDIR)
declare -A DEPS BYNAME COPIED LOADED
while IFS= read -r line; do
    rel=${line%%:*}
    DEPS[$rel]=${line#*:}
    b=${rel##*/}
    b=${b%%.ko*}
    BYNAME[${b//-/_}]=$rel
done <"$MODDIR/modules.dep"

plain() { # path without the compression suffix
    local p=${1%.xz}
    p=${p%.zst}
    printf '%s' "${p%.gz}"
}
LOAD_ORDER=()
add_module() { # add_module REL LOAD(0|1): copy REL after its dependencies
    local rel=$1 load=$2 d dst
    for d in ${DEPS[$rel]}; do add_module "$d" "$load"; done
    if [ -z "${COPIED[$rel]:-}" ]; then
        COPIED[$rel]=1
        dst=$R/lib/modules/$KVER/$(plain "$rel")
        mkdir -p "$(dirname "$dst")"
        case $rel in
        *.xz) xz -dc "$MODDIR/$rel" >"$dst" ;;
        *.zst) zstd -dcq "$MODDIR/$rel" >"$dst" ;;
        *.gz) gzip -dc "$MODDIR/$rel" >"$dst" ;;
        *) cp "$MODDIR/$rel" "$dst" ;;
        esac
    fi
    if [ "$load" = 1 ] && [ -z "${LOADED[$rel]:-}" ]; then
        LOADED[$rel]=1
        LOAD_ORDER+=("$(plain "$rel")")
    fi
}
add_by_name() {
    local name=${1//-/_} load=$2
    if [ -n "${BYNAME[$name]:-}" ]; then
        add_module "${BYNAME[$name]}" "$load"
    elif grep -qE "/${name//_/[-_]}\.ko$" "$MODDIR/modules.builtin"; then
        log "module $1 is built into $KVER"
    else
        die "module $1 not found for $KVER"
    fi
}
for m in "${AUTOLOAD[@]}"; do add_by_name "$m" 1; done
for m in "${COPYONLY[@]}"; do add_by_name "$m" 0; done

# The driver as of Linux 5.15, outside the module tree: a test replaces the
# loaded one with it (rmmod i2c_virtio; insmod).
mkdir -p "$R/lib/modules/$KVER/i2c-virtio-5.15"
cp "$VI2C_GUEST_I2C_VIRTIO_5_15_KO" "$R/lib/modules/$KVER/i2c-virtio-5.15/i2c-virtio.ko"

# A modules.dep for the modules in the image, so that busybox modprobe works.
for rel in "${!COPIED[@]}"; do
    deps=""
    for d in ${DEPS[$rel]}; do deps+=" $(plain "$d")"; done
    printf '%s:%s\n' "$(plain "$rel")" "$deps"
done | sort >"$R/lib/modules/$KVER/modules.dep"
cp "$MODDIR/modules.builtin" "$R/lib/modules/$KVER/"
printf '%s\n' "${LOAD_ORDER[@]}" >"$R/etc/modules.load"

# --- /init ------------------------------------------------------------------------------------
cat >"$R/init" <<'EOF'
#!/bin/sh
# Test guest init: load the modules, run /test.sh, report, power off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
[ -e /bin/mount ] || /bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
kver=$(uname -r)
while read -r m; do
    insmod "/lib/modules/$kver/$m" || echo "INIT: insmod $m failed"
done </etc/modules.load
if [ -f /test.sh ]; then
    # busybox's shell runs its own applets before programs in PATH; the
    # tests mean the real i2c-tools, so functions name them first.
    sh -c '. /etc/i2c-tools.sh && . /test.sh'
    rc=$?
else
    echo "INIT: no /test.sh; starting a shell (exit to power off)"
    setsid cttyhack sh
    rc=$?
fi
echo "RESULT: rc=$rc"
sync
poweroff -f
EOF
chmod 755 "$R/init"
cat >"$R/etc/i2c-tools.sh" <<'EOF'
# Sourced before /test.sh: the i2c-tools commands are the real ones, not
# busybox's applets of the same names (call `busybox i2cget` for those).
for t in i2cdetect i2cget i2cset i2cdump i2ctransfer; do
    eval "$t() { /usr/sbin/$t \"\$@\"; }"
done
EOF

# --- archive -------------------------------------------------------------------------------------
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6n >"$OUT.new"
mv "$OUT.new" "$OUT"
stamp_set "$STAMP" "$key"
log "base initramfs $OUT: $(du -k "$OUT" | cut -f1) KiB; loads: ${LOAD_ORDER[*]##*/}"
