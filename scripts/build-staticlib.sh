#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds libvirtio_i2c_rust.a with cargo and makes every symbol local
# except the C API (vi2c_*), and gives its COMDAT groups names of their own,
# so the archive links beside other Rust code, e.g. QEMU's own
# (--enable-rust): a second copy of std stays private. Used by meson.build
# and by tests/staticlib.rs.
#
# usage: build-staticlib.sh [--cargo CARGO] [--profile release|debug]
#            [--target-dir DIR] [--triple TRIPLE] [--depfile DEP] OUT.a
#
# Offline with --locked when vendor/ exists (release tarballs made by
# scripts/vendor.sh); online with --locked otherwise.
set -eu

cargo=${CARGO:-cargo}
profile=release
tdir=
triple=
dep=
while [ $# -gt 1 ]; do
    case $1 in
    --cargo) cargo=$2; shift 2 ;;
    --profile) profile=$2; shift 2 ;;
    --target-dir) tdir=$2; shift 2 ;;
    --triple) triple=$2; shift 2 ;;
    --depfile) dep=$2; shift 2 ;;
    *) echo "build-staticlib.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ $# -eq 1 ] || { echo "usage: build-staticlib.sh [options] OUT.a" >&2; exit 2; }
out=$1
case $out in /*) ;; *) out=$PWD/$out ;; esac
case $dep in ''|/*) ;; *) dep=$PWD/$dep ;; esac

src=$(cd "$(dirname "$0")/.." && pwd)
[ -n "$tdir" ] || tdir=$src/target
case $tdir in /*) ;; *) tdir=$PWD/$tdir ;; esac

# cargo reads .cargo/config.toml (vendored sources) from the directory it
# runs in.
cd "$src"
set -- build --lib --locked --target-dir "$tdir"
[ -d vendor ] && set -- "$@" --offline
[ "$profile" = release ] && set -- "$@" --release
[ -n "$triple" ] && set -- "$@" --target "$triple"
"$cargo" "$@"

sub=$profile
[ -n "$triple" ] && sub=$triple/$profile
lib=$tdir/$sub/libvirtio_i2c_rust.a

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/o"
(cd "$work/o" && ar x "$lib")
# Rust's std objects carry LLVM bitcode (.llvmbc) for LTO; binutils would
# hand it to whatever LTO plugin is installed, which may not read it.
# Drop it: the machine code is what QEMU links.
for f in "$work"/o/*.o; do
    objcopy --remove-section=.llvmbc --remove-section=.llvmcmd "$f"
done
ld -r -o "$work/all.o" "$work"/o/*.o
nm -g --defined-only "$work/all.o" | awk 'NF == 3 && $3 ~ /^vi2c_/ { print $3 }' |
    sort -u > "$work/keep"
[ -s "$work/keep" ] || { echo "build-staticlib.sh: no vi2c_* symbols in $lib" >&2; exit 1; }
# COMDAT groups are merged by the name of their signature symbol, local or
# not.  std has one, DW.ref.rust_eh_personality (the personality pointer of
# every Rust frame's CIE); linked beside another Rust staticlib (QEMU's
# --enable-rust), the linker would keep one group of that name and drop the
# other: either the link fails (hidden symbol undefined) or our CIEs point
# into a discarded section and the first panic crashes in the unwinder
# instead of being caught at the C API boundary.  Give every group of ours
# a name of its own.
LC_ALL=C readelf -gW "$work/all.o" |
    sed -n "s/^COMDAT group section \[ *[0-9]*\] \`[^']*' \[\(.*\)\] contains .*/\1/p" |
    sort -u | awk '{ print $1, "vi2c." $1 }' > "$work/groups"
objcopy --redefine-syms="$work/groups" --keep-global-symbols="$work/keep" \
    "$work/all.o" "$work/libvirtio_i2c_rust.o"
if LC_ALL=C readelf -gW "$work/libvirtio_i2c_rust.o" | grep '^COMDAT group section' | grep -v '\[vi2c\.'; then
    echo "build-staticlib.sh: COMDAT groups left with foreign names (above)" >&2
    exit 1
fi
(cd "$work" && ar rcsD libvirtio_i2c_rust.a libvirtio_i2c_rust.o)

# Replace the output only when it changed, so ninja's restat can skip
# relinking the emulators.
mkdir -p "$(dirname "$out")"
cmp -s "$work/libvirtio_i2c_rust.a" "$out" 2>/dev/null || cp "$work/libvirtio_i2c_rust.a" "$out"

# cargo's dep-info lists every source file, vendored crates included.
if [ -n "$dep" ]; then
    sed "1s|^[^:]*:|$out:|" "$tdir/$sub/libvirtio_i2c_rust.d" > "$dep"
fi
