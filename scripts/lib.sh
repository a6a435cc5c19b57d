# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Common helpers for the scripts in this directory.  Source it, do not run it:
#   . "$(dirname "$0")/lib.sh"
#
# Provides: VI2C_ROOT (repository root), VI2C_BUILD (all downloads and build
# output, default <repo>/build), the QEMU series and its trees
# (VI2C_QEMU_SERIES, VI2C_QEMU_SRC, VI2C_QEMU_BLD), log/warn/die, elapsed,
# need_cmd, vi2c_lock, stamp and hash helpers.  The private apt configuration (apt_priv ...) is in
# apt.sh, which the scripts that download Debian packages source as well.

if [ -n "${VI2C_LIB_SOURCED:-}" ]; then
    return 0
fi
VI2C_LIB_SOURCED=1

VI2C_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VI2C_BUILD=${VI2C_BUILD:-$VI2C_ROOT/build}
mkdir -p "$VI2C_BUILD"
VI2C_BUILD=$(cd "$VI2C_BUILD" && pwd)
# Firmware for the built QEMU (it has no blobs of its own): get-firmware.sh.
VI2C_FIRMWARE=$VI2C_BUILD/firmware
export VI2C_ROOT VI2C_BUILD VI2C_FIRMWARE

# The QEMU release the scripts work on: one of the series kept in
# qemu-patches/ (10.0: Debian trixie's 10.0.x; 10.2: the newest, from
# Debian unstable).  Each has its own source, build and dev trees.
VI2C_QEMU_SERIES_ALL=(10.0 10.2)
VI2C_QEMU_SERIES=${VI2C_QEMU_SERIES:-10.0}
case " ${VI2C_QEMU_SERIES_ALL[*]} " in
*" $VI2C_QEMU_SERIES "*) ;;
*)
    printf '[%s] ERROR: VI2C_QEMU_SERIES=%s: no such series (qemu-patches/ has: %s)\n' \
        "${0##*/}" "$VI2C_QEMU_SERIES" "${VI2C_QEMU_SERIES_ALL[*]}" >&2
    exit 1
    ;;
esac
VI2C_QEMU_DIR=$VI2C_BUILD/qemu-$VI2C_QEMU_SERIES
VI2C_QEMU_SRC=$VI2C_QEMU_DIR/src
VI2C_QEMU_BLD=$VI2C_QEMU_DIR/build
export VI2C_QEMU_SERIES VI2C_QEMU_DIR VI2C_QEMU_SRC VI2C_QEMU_BLD

# VI2C_QEMU_RUST=1: the series configured with QEMU's own Rust as well
# (--enable-rust: QEMU's Rust crates and devices, e.g. the HPET, in the same
# binary as this library), in trees of its own, qemu-<series>-rust/, so the
# plain build is not touched.  VI2C_QEMU_TAG names those trees' stamps and
# locks: the series, or <series>-rust.
VI2C_QEMU_RUST=${VI2C_QEMU_RUST:-0}
VI2C_QEMU_TAG=$VI2C_QEMU_SERIES
if [ "$VI2C_QEMU_RUST" = 1 ]; then
    VI2C_QEMU_TAG=$VI2C_QEMU_SERIES-rust
    VI2C_QEMU_DIR=$VI2C_BUILD/qemu-$VI2C_QEMU_TAG
    VI2C_QEMU_SRC=$VI2C_QEMU_DIR/src
    VI2C_QEMU_BLD=$VI2C_QEMU_DIR/build
fi
export VI2C_QEMU_RUST VI2C_QEMU_TAG VI2C_QEMU_DIR VI2C_QEMU_SRC VI2C_QEMU_BLD

# Stable locale so that the output of the tools we parse does not change.
export LC_ALL=C

VI2C_T0=$(date +%s.%N)

log() { printf '[%s] %s\n' "${0##*/}" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "${0##*/}" "$*" >&2; }
die() {
    printf '[%s] ERROR: %s\n' "${0##*/}" "$*" >&2
    exit 1
}

# Seconds since the script started (or since the given date +%s.%N value).
elapsed() {
    local t1
    t1=$(date +%s.%N)
    awk -v a="${1:-$VI2C_T0}" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'
}

need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 ||
            die "'$c' not found; run scripts/setup-host.sh first"
    done
}

# vi2c_lock NAME: hold an exclusive lock until the script exits, so that two
# runs (two sessions sharing one tree) never work in the same place at once.
# Each script uses its own NAME: a child script opening the same lock again
# would wait for its parent.
vi2c_lock() {
    local fd
    mkdir -p "$VI2C_BUILD/locks"
    exec {fd}>"$VI2C_BUILD/locks/$1"
    if ! flock -n "$fd"; then
        log "waiting for another run that holds the $1 lock"
        flock "$fd"
    fi
}

# Stamps: a file under $VI2C_BUILD/stamps holding a key (usually a hash of
# the step's inputs).  A step is skipped when its stamp holds the same key.
stamp_file() { printf '%s/stamps/%s' "$VI2C_BUILD" "$1"; }
stamp_ok() {
    local f
    f=$(stamp_file "$1")
    [ -f "$f" ] && [ "$(cat "$f")" = "$2" ]
}
stamp_set() {
    mkdir -p "$VI2C_BUILD/stamps"
    printf '%s\n' "$2" >"$(stamp_file "$1")"
}
stamp_clear() { rm -f "$(stamp_file "$1")"; }

# sha256 over the names and contents of the given files (missing files count
# as empty), for stamp keys.
hash_files() {
    local f
    for f in "$@"; do
        printf '%s\n' "${f##*/}"
        if [ -f "$f" ]; then cat "$f"; fi
    done | sha256sum | cut -d' ' -f1
}

hash_str() { printf '%s' "$*" | sha256sum | cut -d' ' -f1; }
