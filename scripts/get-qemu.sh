#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fetch Debian's QEMU source of one release series and prepare its tree,
# $VI2C_BUILD/qemu-<series>/src:
#   orig tarball + meson/pycotap wheels (stripped from the +ds tarball)
#   + Debian's patches for what the +ds tarball lacks (skip-*.patch)
#   + our qemu-patches/<series>/series,
#   and subprojects/virtio-i2c-rust -> this repository;
#   with VI2C_QEMU_RUST=1 also QEMU's Rust crates (subprojects/*-rs.wrap)
#   with our meson.build overlays (scripts/qemu-rust-packagefiles/).
#
# Usage: scripts/get-qemu.sh
# Env:   VI2C_QEMU_SERIES   10.0 (default: Debian trixie's 10.0.x) or 10.2
#                           (the newest: Debian unstable's 10.2.x)
#        VI2C_QEMU_VERSION  Debian source version (default: the series'
#                           pinned one, below; the newest of the series
#                           when that is no longer offered)
#        VI2C_QEMU_RUST=1   the tree for --enable-rust, in qemu-<series>-rust/
#                           (lib.sh): the crates that QEMU's *-rs.wrap files
#                           name, fetched with cargo into
#                           $VI2C_BUILD/downloads/crates (checked against the
#                           wraps' source_hash) and unpacked into subprojects/
#                           with the overlays of scripts/qemu-rust-packagefiles/
#
# The downloads are kept under $VI2C_BUILD/downloads; the tree is re-made only
# when the inputs (version, series, patch files, this script) change.  It is
# then built in a scratch directory and synced into the tree by content, so
# files that did not change keep their timestamps and ninja rebuilds only
# what the series really touched.  Edits made by hand in the tree are lost
# at that point: put them into a patch of the series.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apt.sh"

usage() {
    cat <<'EOF'
usage: scripts/get-qemu.sh

Prepares $VI2C_BUILD/qemu-<series>/src: Debian's QEMU source of the series,
the wheels its +ds tarball lacks, Debian's skip-*.patch fixes for that
tarball, and qemu-patches/<series>/series.

Env: VI2C_QEMU_SERIES   10.0 (default: Debian trixie's 10.0.x) or 10.2
                        (the newest: Debian unstable's 10.2.x)
     VI2C_QEMU_VERSION  Debian source version (default: the series' pinned
                        one; the newest of the series when that is gone)
     VI2C_QEMU_RUST=1   the tree for QEMU's --enable-rust, in
                        qemu-<series>-rust/: adds QEMU's Rust crates
EOF
}
case ${1:-} in
-h | --help) usage; exit 0 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

# Per series: the pinned Debian version, the versions that belong to it, and
# the suites offering them.
case $VI2C_QEMU_SERIES in
10.0)
    PINNED=1:10.0.13+ds-0+deb13u1
    SUITES=("$VI2C_NEXT_SUITE" "$VI2C_NEXT_SUITE-security")
    ;;
10.2)
    PINNED=1:10.2.2+ds-1
    SUITES=("$VI2C_NEWEST_SUITE")
    ;;
esac
VERSION_RE="^1:${VI2C_QEMU_SERIES//./\\.}\\."
QEMU_VERSION=${VI2C_QEMU_VERSION:-$PINNED}
# Debian's own fixes for the files its +ds tarball strips, applied when the
# version's debian/patches/series lists them.
DEBIAN_PATCHES=(skip-unpack-edk2-blobs.patch skip-install-dtb.patch)
DL=$VI2C_BUILD/downloads/qemu
WHEEL_DIR=$VI2C_BUILD/downloads/wheels
SRC=$VI2C_QEMU_SRC
STAGE=$VI2C_QEMU_DIR/src.new
PRISTINE=$VI2C_QEMU_DIR/pristine
PATCHES=$VI2C_ROOT/qemu-patches/$VI2C_QEMU_SERIES
SERIES=$PATCHES/series
# Copied into the tree by build-qemu.sh; must survive a re-sync.
DEVICES_MAKS=(configs/devices/x86_64-softmmu/vi2c.mak configs/devices/aarch64-softmmu/vi2c.mak)

need_cmd tar xz rsync patch git sha256sum
vi2c_lock "qemu-$VI2C_QEMU_TAG-src"
mkdir -p "$DL" "$VI2C_QEMU_DIR"
[ -f "$SERIES" ] || die "no series file $SERIES"

# Names of the series entries, in order (blank lines and comments skipped).
series_names() {
    sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e 's/^[[:space:]]*//' "$SERIES" | awk 'NF { print $1 }'
}

# --- 1. source package -------------------------------------------------------
# Use what is already downloaded if it matches; otherwise ask the archive.
dsc_of() { printf '%s/qemu_%s.dsc' "$DL" "${1#*:}"; }
if [ ! -f "$(dsc_of "$QEMU_VERSION")" ]; then
    [[ $QEMU_VERSION =~ $VERSION_RE ]] ||
        die "VI2C_QEMU_VERSION=$QEMU_VERSION is not of the $VI2C_QEMU_SERIES series (VI2C_QEMU_SERIES)"
    apt_priv_update
    offered=$(apt_priv_versions --src qemu "$VERSION_RE" "${SUITES[@]}")
    if ! grep -qxF "$QEMU_VERSION" <<<"$offered"; then
        newest=$(tail -n1 <<<"$offered")
        [ -n "$newest" ] || die "qemu $QEMU_VERSION not offered and no $VI2C_QEMU_SERIES.x in ${SUITES[*]}"
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

# --- 2. the pristine tree, unpacked once per version -------------------------
if ! stamp_ok "qemu-$VI2C_QEMU_TAG-pristine" "${ORIG##*/}" || [ ! -f "$PRISTINE/VERSION" ]; then
    log "unpacking ${ORIG##*/}"
    rm -rf "$PRISTINE"
    mkdir -p "$PRISTINE"
    tar -xf "$ORIG" -C "$PRISTINE" --strip-components=1 --no-same-owner
    [ -f "$PRISTINE/VERSION" ] || die "unexpected layout of $ORIG (no VERSION file)"
    stamp_set "qemu-$VI2C_QEMU_TAG-pristine" "${ORIG##*/}"
fi

# --- 3. wheels that the +ds tarball strips (configure runs mkvenv offline) ---
# The versions QEMU installs when the system has none: "installed" in its
# pythondeps.toml, group [meson].
WHEELS=()
while read -r w; do WHEELS+=("$w"); done < <(
    /usr/bin/python3 -c 'import sys, tomllib
for name, req in tomllib.load(open(sys.argv[1], "rb"))["meson"].items():
    print(name + "==" + req["installed"])' "$PRISTINE/pythondeps.toml")
[ ${#WHEELS[@]} -ge 2 ] || die "cannot read the meson and pycotap versions from $PRISTINE/pythondeps.toml"
for w in "${WHEELS[@]}"; do
    n=${w%%==*} v=${w#*==}
    if ! compgen -G "$WHEEL_DIR/${n}-${v}-*.whl" >/dev/null; then
        log "downloading wheels ${WHEELS[*]}"
        /usr/bin/python3 -m pip download -q --no-deps --only-binary=:all: -d "$WHEEL_DIR" "${WHEELS[@]}" ||
            die "pip download ${WHEELS[*]} failed"
        break
    fi
done

# --- 3b. QEMU's Rust crates (VI2C_QEMU_RUST=1) --------------------------------
# Each subprojects/*-rs.wrap names a crate (directory = <name>-<version>), its
# sha256 (source_hash) and a meson.build overlay (patch_directory) that the
# +ds tarball strips; ours are in scripts/qemu-rust-packagefiles/ and must be
# for the same version.  RUST_CRATES: "directory patch_directory source_hash".
RUST_PKGFILES=$VI2C_ROOT/scripts/qemu-rust-packagefiles
CRATE_DIR=$VI2C_BUILD/downloads/crates
RUST_CRATES=()
overlays=()
wrap_get() { sed -n "s/^$2[[:space:]]*=[[:space:]]*//p" "$1" | head -n1; }
if [ "$VI2C_QEMU_RUST" = 1 ]; then
    for w in "$PRISTINE"/subprojects/*-rs.wrap; do
        [ -f "$w" ] || die "QEMU $UPSTREAM has no Rust crates (subprojects/*-rs.wrap)"
        dir=$(wrap_get "$w" directory) pd=$(wrap_get "$w" patch_directory) sum=$(wrap_get "$w" source_hash)
        [ -n "$dir" ] && [ -n "$pd" ] && [ -n "$sum" ] || die "cannot read ${w##*/}"
        ov=$RUST_PKGFILES/$pd/meson.build
        [ -f "$ov" ] || die "no overlay ${ov#"$VI2C_ROOT"/} for ${w##*/} ($dir)"
        ver=$(sed -n "s/^[[:space:]]*version:[[:space:]]*'\([^']*\)'.*/\1/p" "$ov" | head -n1)
        [ "$dir" = "${dir%-*}-$ver" ] ||
            die "${ov#"$VI2C_ROOT"/} is for version $ver, but ${w##*/} wants $dir"
        RUST_CRATES+=("$dir $pd $sum")
        overlays+=("$ov")
    done
fi

# crate_ok FILE SHA256
crate_ok() { [ -f "$1" ] && [ "$(sha256sum <"$1" | cut -d' ' -f1)" = "$2" ]; }

# fetch_crates DIRECTORY...: download <name>-<version> with cargo (a
# throw-away package that depends on exactly those versions) and copy the
# .crate files (gzipped tarballs, the files the wraps' source_url names) from
# cargo's cache into $CRATE_DIR.
fetch_crates() {
    local tmp d f
    need_cmd cargo
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/vi2c-crates.XXXXXX")
    mkdir "$tmp/src"
    : >"$tmp/src/lib.rs"
    {
        printf '[package]\nname = "vi2c-qemu-crates"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
        printf '[workspace]\n\n[dependencies]\n'
        for d in "$@"; do
            printf '%s = { version = "=%s", default-features = false }\n' "${d%-*}" "${d##*-}"
        done
    } >"$tmp/Cargo.toml"
    log "fetching QEMU's Rust crates with cargo: $*"
    if ! (cd "$tmp" && cargo fetch) >"$tmp.log" 2>&1; then
        cat "$tmp.log" >&2
        rm -rf "$tmp" "$tmp.log"
        die "cargo fetch of QEMU's Rust crates failed"
    fi
    rm -rf "$tmp" "$tmp.log"
    for d in "$@"; do
        f=$(compgen -G "${CARGO_HOME:-$HOME/.cargo}/registry/cache/*/$d.crate" | head -n1) ||
            die "cargo fetched no $d.crate"
        cp "$f" "$CRATE_DIR/$d.crate.new"
        mv -f "$CRATE_DIR/$d.crate.new" "$CRATE_DIR/$d.crate"
    done
}

# --- 4. is the tree up to date? ----------------------------------------------
patch_files=()
while read -r name; do
    [ -f "$PATCHES/$name" ] || die "${SERIES#"$VI2C_ROOT"/} lists '$name', but $PATCHES/$name does not exist"
    patch_files+=("$PATCHES/$name")
done < <(series_names)
key=$(hash_str "$QEMU_VERSION" "${WHEELS[*]}" "$VI2C_ROOT" "$PATCHES" \
    "$(hash_files "$0" "$SERIES" "${patch_files[@]}")")
if [ "$VI2C_QEMU_RUST" = 1 ]; then
    key=$(hash_str "$key" rust "${RUST_CRATES[*]}" "$(for o in "${overlays[@]}"; do cat "$o"; done | sha256sum)")
fi
if stamp_ok "qemu-$VI2C_QEMU_TAG-src" "$key" && [ -f "$SRC/VERSION" ] && [ -L "$SRC/subprojects/virtio-i2c-rust" ]; then
    log "QEMU $VI2C_QEMU_TAG tree is up to date ($QEMU_VERSION, ${#patch_files[@]} patches): $SRC"
    exit 0
fi

# --- 5. build the tree in a scratch directory --------------------------------
# The scratch tree is a hard-linked copy of the pristine one (cheap to make
# and to delete), and every file a patch modifies is copied first so that the
# pristine tree stays pristine.
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

# Debian's own fixes for the blobs its tarball lacks.
deb_series=$(tar -xf "$DEBIAN_TAR" -O debian/patches/series) || die "no debian/patches/series in ${DEBIAN_TAR##*/}"
for dp in "${DEBIAN_PATCHES[@]}"; do
    grep -qxF "$dp" <<<"$deb_series" || continue
    tar -xf "$DEBIAN_TAR" -O "debian/patches/$dp" >"$STAGE.debian.patch" ||
        die "debian/patches/$dp not found in ${DEBIAN_TAR##*/}"
    unshare_for "$STAGE.debian.patch"
    patch -d "$STAGE" -p1 --batch --forward --quiet <"$STAGE.debian.patch" ||
        die "debian/patches/$dp does not apply"
    rm -f "$STAGE.debian.patch"
done

# Our series.  git apply is all-or-nothing per patch and understands git's
# extended headers (new files, modes, renames).  The ceiling keeps git from
# taking this repository (which contains $VI2C_BUILD) as the target.
for p in "${patch_files[@]}"; do
    log "applying ${p#"$VI2C_ROOT"/}"
    unshare_for "$p"
    (
        cd "$STAGE"
        unset GIT_DIR GIT_WORK_TREE
        GIT_CEILING_DIRECTORIES=$(dirname "$STAGE") git apply --whitespace=nowarn "$p"
    ) || die "${p#"$VI2C_ROOT"/} does not apply to QEMU $UPSTREAM (after the patches before it; scratch tree left in $STAGE)"
done

# QEMU's Rust crates, unpacked where meson looks for the wraps' "directory"
# (meson then neither downloads nor extracts them), each with our overlay; the
# overlays also go to subprojects/packagefiles/, where the wraps name them.
if [ "$VI2C_QEMU_RUST" = 1 ]; then
    mkdir -p "$CRATE_DIR"
    missing=()
    for c in "${RUST_CRATES[@]}"; do
        read -r dir pd sum <<<"$c"
        crate_ok "$CRATE_DIR/$dir.crate" "$sum" || missing+=("$dir")
    done
    if [ ${#missing[@]} -gt 0 ]; then fetch_crates "${missing[@]}"; fi
    mkdir -p "$STAGE/subprojects/packagefiles"
    for c in "${RUST_CRATES[@]}"; do
        read -r dir pd sum <<<"$c"
        crate_ok "$CRATE_DIR/$dir.crate" "$sum" ||
            die "$CRATE_DIR/$dir.crate does not have the sha256 of ${pd}'s wrap ($sum)"
        tar -xzf "$CRATE_DIR/$dir.crate" -C "$STAGE/subprojects" --no-same-owner
        [ -f "$STAGE/subprojects/$dir/Cargo.toml" ] || die "$dir.crate does not unpack to $dir/"
        cp -r "$RUST_PKGFILES/$pd" "$STAGE/subprojects/packagefiles/"
        cp -r "$RUST_PKGFILES/$pd/." "$STAGE/subprojects/$dir/"
    done
    log "${#RUST_CRATES[@]} Rust crates unpacked with their meson.build"
fi

# The Rust library as a meson subproject (the repository root has its meson.build).
ln -sfn "$VI2C_ROOT" "$STAGE/subprojects/virtio-i2c-rust"

# --- 6. install it -----------------------------------------------------------
# Copy by content.  No --times: a file that changed gets a new mtime even when
# it went back to its pristine content (older than the objects built from it).
# Kept: the device sets from build-qemu.sh and the __pycache__ directories
# that the build's Python scripts write into the tree.
log "syncing into $SRC"
mkdir -p "$SRC"
excludes=(--exclude=__pycache__/)
for m in "${DEVICES_MAKS[@]}"; do excludes+=(--exclude="/$m"); done
rsync -rlpD --checksum --delete "${excludes[@]}" --itemize-changes "$STAGE/" "$SRC/" >"$STAGE.sync.log"
n=$(grep -c '^[<>ch*]' "$STAGE.sync.log" || true)
log "$n paths changed in $SRC"
rm -rf "$STAGE" "$STAGE.sync.log"
stamp_set "qemu-$VI2C_QEMU_TAG-src" "$key"
log "QEMU tree ready: $(cat "$SRC/VERSION") (Debian $QEMU_VERSION), ${#patch_files[@]} patches, in $(elapsed) s: $SRC"
