#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fetch Debian's QEMU 10.0 source and prepare $VI2C_BUILD/qemu-src:
#   orig tarball + meson/pycotap wheels (stripped from the +ds tarball)
#   + Debian's skip-unpack-edk2-blobs.patch + our qemu-patches/series,
#   and subprojects/virtio-i2c-rust -> this repository.
#
# Usage: scripts/get-qemu.sh
# Env:   VI2C_QEMU_VERSION  Debian source version (default 1:10.0.13+ds-0+deb13u1)
#        VI2C_QEMU_PATCHES  directory with the series file (default <repo>/qemu-patches)
#
# The downloads are kept under $VI2C_BUILD/downloads; the tree is re-made only
# when the inputs (version, series, patch files, this script) change.  It is
# then built in a scratch directory and synced into qemu-src by content, so
# files that did not change keep their timestamps and ninja rebuilds only
# what the series really touched.  Edits made by hand in qemu-src are lost
# at that point: put them into a patch of the series.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apt.sh"

QEMU_VERSION=${VI2C_QEMU_VERSION:-1:10.0.13+ds-0+deb13u1}
WHEELS=(meson==1.5.0 pycotap==1.3.1)
DL=$VI2C_BUILD/downloads/qemu
WHEEL_DIR=$VI2C_BUILD/downloads/wheels
SRC=$VI2C_BUILD/qemu-src
STAGE=$VI2C_BUILD/qemu-src.new
PRISTINE=$VI2C_BUILD/qemu-pristine
PATCHES=${VI2C_QEMU_PATCHES:-$VI2C_ROOT/qemu-patches}
SERIES=$PATCHES/series
# Copied into the tree by build-qemu.sh; must survive a re-sync.
DEVICES_MAK=configs/devices/x86_64-softmmu/vi2c.mak

need_cmd tar xz rsync patch git sha256sum
vi2c_lock qemu-src
mkdir -p "$DL"

# Names of the series entries, in order (blank lines and comments skipped).
series_names() {
    [ -f "$SERIES" ] || return 0
    sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e 's/^[[:space:]]*//' "$SERIES" | awk 'NF { print $1 }'
}

# --- 1. source package -------------------------------------------------------
# Use what is already downloaded if it matches; otherwise ask the archive.
dsc_of() { printf '%s/qemu_%s.dsc' "$DL" "${1#*:}"; }
if [ ! -f "$(dsc_of "$QEMU_VERSION")" ]; then
    apt_priv_update
    offered=$(apt_priv_versions --src qemu '^1:10\.0\.' "$VI2C_NEXT_SUITE" "$VI2C_NEXT_SUITE-security")
    if ! grep -qxF "$QEMU_VERSION" <<<"$offered"; then
        newest=$(tail -n1 <<<"$offered")
        [ -n "$newest" ] || die "qemu $QEMU_VERSION not offered and no 10.0.x in $VI2C_NEXT_SUITE{,-security}"
        warn "qemu $QEMU_VERSION is no longer offered; using $newest instead"
        QEMU_VERSION=$newest
    fi
    if [ ! -f "$(dsc_of "$QEMU_VERSION")" ]; then
        log "downloading qemu source $QEMU_VERSION"
        t=$(date +%s.%N)
        if ! (cd "$DL" && apt_priv apt-get -q source --download-only "qemu=$QEMU_VERSION") >"$DL/source.log" 2>&1; then
            cat "$DL/source.log" >&2
            die "apt-get source qemu=$QEMU_VERSION failed"
        fi
        log "downloaded in $(elapsed "$t") s"
    fi
fi
UPSTREAM=${QEMU_VERSION#*:}
UPSTREAM=${UPSTREAM%-*}
ORIG=$(compgen -G "$DL/qemu_${UPSTREAM}.orig.tar.*" | head -n1) || true
DEBIAN_TAR=$(compgen -G "$DL/qemu_${QEMU_VERSION#*:}.debian.tar.*" | head -n1) || true
if [ ! -f "$ORIG" ] || [ ! -f "$DEBIAN_TAR" ]; then
    die "source files of qemu $QEMU_VERSION missing in $DL"
fi

# --- 2. wheels that the +ds tarball strips (configure runs mkvenv offline) ---
for w in "${WHEELS[@]}"; do
    n=${w%%==*} v=${w#*==}
    if ! compgen -G "$WHEEL_DIR/${n}-${v}-*.whl" >/dev/null; then
        log "downloading wheels ${WHEELS[*]}"
        /usr/bin/python3 -m pip download -q --no-deps --only-binary=:all: -d "$WHEEL_DIR" "${WHEELS[@]}" ||
            die "pip download ${WHEELS[*]} failed"
        break
    fi
done

# --- 3. is the tree up to date? ----------------------------------------------
patch_files=()
while read -r name; do
    [ -f "$PATCHES/$name" ] || die "qemu-patches/series lists '$name', but $PATCHES/$name does not exist"
    patch_files+=("$PATCHES/$name")
done < <(series_names)
key=$(hash_str "$QEMU_VERSION" "${WHEELS[*]}" "$VI2C_ROOT" "$PATCHES" \
    "$(hash_files "$0" "$SERIES" "${patch_files[@]}")")
if stamp_ok qemu-src "$key" && [ -f "$SRC/VERSION" ] && [ -L "$SRC/subprojects/virtio-i2c-rust" ]; then
    log "qemu-src is up to date ($QEMU_VERSION, ${#patch_files[@]} patches): $SRC"
    exit 0
fi

# --- 4. build the tree in a scratch directory --------------------------------
# The pristine tree is unpacked once per version; the scratch tree is a
# hard-linked copy of it (cheap to make and to delete), and every file a patch
# modifies is copied first so that the pristine tree stays pristine.
if ! stamp_ok qemu-pristine "${ORIG##*/}" || [ ! -f "$PRISTINE/VERSION" ]; then
    log "unpacking ${ORIG##*/}"
    rm -rf "$PRISTINE"
    mkdir -p "$PRISTINE"
    tar -xf "$ORIG" -C "$PRISTINE" --strip-components=1 --no-same-owner
    [ -f "$PRISTINE/VERSION" ] || die "unexpected layout of $ORIG (no VERSION file)"
    stamp_set qemu-pristine "${ORIG##*/}"
fi
rm -rf "$STAGE"
cp -al "$PRISTINE" "$STAGE"

# unshare_for PATCH: give the files that PATCH modifies their own inode.
unshare_for() {
    local f
    sed -n 's#^--- [^/]*/\([^\t]*\).*#\1#p' "$1" | sort -u | while read -r f; do
        if [ -f "$STAGE/$f" ]; then
            cp -p "$STAGE/$f" "$STAGE/$f.unshare" && mv -f "$STAGE/$f.unshare" "$STAGE/$f"
        fi
    done
}

mkdir -p "$STAGE/python/wheels"
for w in "${WHEELS[@]}"; do
    cp "$(compgen -G "$WHEEL_DIR/${w%%==*}-${w#*==}-*.whl" | head -n1)" "$STAGE/python/wheels/"
done

# Debian's own fix: do not unpack edk2 blobs that the +ds tarball lacks.
edk2_patch=debian/patches/skip-unpack-edk2-blobs.patch
tar -xf "$DEBIAN_TAR" -O "$edk2_patch" >"$STAGE.edk2.patch" ||
    die "$edk2_patch not found in ${DEBIAN_TAR##*/}"
unshare_for "$STAGE.edk2.patch"
patch -d "$STAGE" -p1 --batch --forward --quiet <"$STAGE.edk2.patch" ||
    die "$edk2_patch does not apply"
rm -f "$STAGE.edk2.patch"

# Our series.  git apply is all-or-nothing per patch and understands git's
# extended headers (new files, modes, renames).  The ceiling keeps git from
# taking this repository (which contains $VI2C_BUILD) as the target.
for p in "${patch_files[@]}"; do
    log "applying qemu-patches/${p##*/}"
    unshare_for "$p"
    (
        cd "$STAGE"
        unset GIT_DIR GIT_WORK_TREE
        GIT_CEILING_DIRECTORIES=$(dirname "$STAGE") git apply --whitespace=nowarn "$p"
    ) || die "qemu-patches/${p##*/} does not apply to QEMU $UPSTREAM (after the patches before it; scratch tree left in $STAGE)"
done

# The Rust library as a meson subproject (the repository root has its meson.build).
ln -sfn "$VI2C_ROOT" "$STAGE/subprojects/virtio-i2c-rust"

# --- 5. install it -----------------------------------------------------------
# Copy by content.  No --times: a file that changed gets a new mtime even when
# it went back to its pristine content (older than the objects built from it).
# Kept: the device set from build-qemu.sh and the __pycache__ directories
# that the build's Python scripts write into the tree.
log "syncing into $SRC"
mkdir -p "$SRC"
rsync -rlpD --checksum --delete --exclude="/$DEVICES_MAK" --exclude=__pycache__/ --itemize-changes "$STAGE/" "$SRC/" >"$STAGE.sync.log"
n=$(grep -c '^[<>ch*]' "$STAGE.sync.log" || true)
log "$n paths changed in qemu-src"
rm -rf "$STAGE" "$STAGE.sync.log"
stamp_set qemu-src "$key"
log "qemu-src ready: QEMU $(cat "$SRC/VERSION") (Debian $QEMU_VERSION), ${#patch_files[@]} patches, in $(elapsed) s"
