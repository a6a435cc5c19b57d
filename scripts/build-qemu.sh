#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Configure (when needed) and build a minimal qemu-system-x86_64 and
# qemu-system-aarch64 from $VI2C_BUILD/qemu-<series>/src (see get-qemu.sh)
# in $VI2C_BUILD/qemu-<series>/build (one configure, both targets).
#
# Usage: scripts/build-qemu.sh
# Env:   VI2C_QEMU_SERIES           10.0 (default) or 10.2
#        VI2C_QEMU_TARGETS          the targets, of "x86_64 aarch64" (the
#                                   default); "x86_64" alone builds what
#                                   the x86 tests need in about half the time
#        VI2C_QEMU_CONFIGURE_EXTRA  extra configure/meson arguments (word-split),
#                                   e.g. "--enable-debug-tcg -Dfoo=bar"
#        VI2C_CCACHE=0              do not use ccache
#        VI2C_QEMU_RUST=1           configure with QEMU's own Rust as well
#                                   (--enable-rust; needs rustc >= 1.83 and
#                                   bindgen), in qemu-<series>-rust/ (lib.sh),
#                                   with the devices of x86_64-rust.mak too
#
# The device set of each target T is scripts/qemu-devices/T.mak, plus
# T-<series>.mak where the series needs more, plus T-rust.mak with
# VI2C_QEMU_RUST=1 (devices that QEMU has in Rust, e.g. the HPET).  TCG
# only: KVM on the
# project's machines cannot run ordinary guests (see
# shared/research/test-environment.md).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SRC=$VI2C_QEMU_SRC
BLD=$VI2C_QEMU_BLD
# With QEMU's Rust (VI2C_QEMU_RUST=1), x86_64 only unless asked: that is
# what was measured (scripts/README.md).
if [ "$VI2C_QEMU_RUST" = 1 ]; then default_targets=x86_64; else default_targets="x86_64 aarch64"; fi
read -r -a TARGETS <<<"${VI2C_QEMU_TARGETS:-$default_targets}"
[ ${#TARGETS[@]} -gt 0 ] || die "VI2C_QEMU_TARGETS is empty"
for tg in "${TARGETS[@]}"; do
    case $tg in
    x86_64 | aarch64) ;;
    *) die "VI2C_QEMU_TARGETS: unknown target '$tg' (known: x86_64 aarch64)" ;;
    esac
done

need_cmd ninja pkg-config cc
# The source tree too: get-qemu.sh must not re-sync it during a build.
vi2c_lock "qemu-$VI2C_QEMU_TAG-src"
vi2c_lock "qemu-$VI2C_QEMU_TAG-build"
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 missing; run scripts/setup-host.sh"
if [ ! -f "$SRC/VERSION" ] || [ ! -x "$SRC/configure" ]; then
    die "no QEMU source in $SRC; run VI2C_QEMU_SERIES=$VI2C_QEMU_SERIES VI2C_QEMU_RUST=$VI2C_QEMU_RUST scripts/get-qemu.sh first"
fi
if [ "$VI2C_QEMU_RUST" = 1 ]; then
    need_cmd rustc bindgen
    compgen -G "$SRC/subprojects/packagefiles/*-rs" >/dev/null ||
        die "$SRC has no Rust crates; run VI2C_QEMU_SERIES=$VI2C_QEMU_SERIES VI2C_QEMU_RUST=1 scripts/get-qemu.sh first"
fi

# --- device sets ---------------------------------------------------------------
# One per target: configs/devices/<target>-softmmu/vi2c.mak (get-qemu.sh
# keeps these files when it re-syncs the tree).  Our symbols are enabled
# only once the patch series defines them (minikconf rejects unknown
# symbols).  A file is replaced only when its content changes: a new
# timestamp makes meson re-run and ~900 objects rebuild.
kconfig_defines() {
    find "$SRC/hw" -name Kconfig -exec grep -qE "^config $1\b" {} + 2>/dev/null
}
install_devices() { # install_devices TARGET
    local t=$1 in series rust devices new sym
    in=$VI2C_ROOT/scripts/qemu-devices/$t.mak
    series=$VI2C_ROOT/scripts/qemu-devices/$t-$VI2C_QEMU_SERIES.mak
    rust=$VI2C_ROOT/scripts/qemu-devices/$t-rust.mak
    devices=$SRC/configs/devices/$t-softmmu/vi2c.mak
    [ -f "$in" ] || die "no device set $in"
    new=$(mktemp "$VI2C_BUILD/vi2c.mak.XXXXXX")
    {
        cat "$in"
        if [ -f "$series" ]; then cat "$series"; fi
        if [ "$VI2C_QEMU_RUST" = 1 ] && [ -f "$rust" ]; then cat "$rust"; fi
        for sym in VIRTIO_I2C_RUST HOST_I2CDEV; do
            if kconfig_defines "$sym"; then echo "CONFIG_$sym=y"; fi
        done
    } >"$new"
    if cmp -s "$new" "$devices"; then
        rm -f "$new"
    else
        log "installing device set $devices"
        mv "$new" "$devices"
        chmod 644 "$devices"
    fi
    log "$t device symbols: $(grep -E '^CONFIG_' "$devices" | sed 's/^CONFIG_//; s/=y$//' | tr '\n' ' ')"
}
for tg in "${TARGETS[@]}"; do install_devices "$tg"; done

# --- configure -----------------------------------------------------------------
target_list=$(printf '%s-softmmu,' "${TARGETS[@]}")
args=(
    --python=/usr/bin/python3
    --target-list="${target_list%,}"
    --without-default-features
    --without-default-devices
)
for tg in "${TARGETS[@]}"; do args+=("--with-devices-$tg=vi2c"); done
args+=(
    --enable-tcg
    # virtio-9p; "attr" is a feature too, and --without-default-features
    # would turn it off (glibc provides the xattr calls)
    --enable-virtfs
    --enable-attr
    # microvm (and Arm's virt) build device trees
    --enable-fdt=system
    --disable-docs
    --disable-tools
    --disable-guest-agent
    --disable-user
    --disable-download
    --disable-install-blobs
)
if [ "$VI2C_QEMU_RUST" = 1 ]; then args+=(--enable-rust); fi
# TPM backends (a host feature): the aspeed boards' tpm-tis-i2c device and
# its qtest, which drives the aspeed I2C controller (tests/qtest/run.sh).
case " ${TARGETS[*]} " in *" aarch64 "*) args+=(--enable-tpm) ;; esac
# ccache through a wrapper, so that a plain "ninja -C qemu-<series>/build" uses the
# project's cache directory as well.
if [ "${VI2C_CCACHE:-1}" != 0 ] && command -v ccache >/dev/null; then
    mkdir -p "$VI2C_BUILD/bin"
    cat >"$VI2C_BUILD/bin/ccache-cc.new" <<EOF
#!/bin/sh
# Generated by scripts/build-qemu.sh: the C compiler through ccache.
CCACHE_DIR=\${CCACHE_DIR:-$VI2C_BUILD/ccache}
export CCACHE_DIR
exec ccache cc "\$@"
EOF
    chmod 755 "$VI2C_BUILD/bin/ccache-cc.new"
    if cmp -s "$VI2C_BUILD/bin/ccache-cc.new" "$VI2C_BUILD/bin/ccache-cc"; then
        rm -f "$VI2C_BUILD/bin/ccache-cc.new"
    else
        mv "$VI2C_BUILD/bin/ccache-cc.new" "$VI2C_BUILD/bin/ccache-cc"
    fi
    args+=(--cc="$VI2C_BUILD/bin/ccache-cc")
fi
read -r -a extra <<<"${VI2C_QEMU_CONFIGURE_EXTRA:-}"
if grep -q virtio_i2c_rust "$SRC/meson_options.txt" &&
    [[ " ${extra[*]} " != *virtio_i2c_rust* && " ${extra[*]} " != *virtio-i2c-rust* ]]; then
    args+=(-Dvirtio_i2c_rust=enabled)
fi
args+=("${extra[@]}")

key=$(hash_str "${args[*]}" "$SRC")
mkdir -p "$BLD"
if ! stamp_ok "qemu-$VI2C_QEMU_TAG-configure" "$key" || [ ! -f "$BLD/build.ninja" ]; then
    log "configuring in $BLD: ${args[*]}"
    t=$(date +%s.%N)
    (cd "$BLD" && "$SRC/configure" "${args[@]}") >"$BLD/configure.log" 2>&1 || {
        tail -n 40 "$BLD/configure.log" >&2
        stamp_clear "qemu-$VI2C_QEMU_TAG-configure"
        die "configure failed (full log: $BLD/configure.log)"
    }
    stamp_set "qemu-$VI2C_QEMU_TAG-configure" "$key"
    log "configured in $(elapsed "$t") s"
fi

# --- build -----------------------------------------------------------------------
binaries=()
for tg in "${TARGETS[@]}"; do binaries+=("qemu-system-$tg"); done
log "building ${binaries[*]}"
t=$(date +%s.%N)
if ! ninja -C "$BLD" "${binaries[@]}" >"$BLD/build.log" 2>&1; then
    grep -v '^\[[0-9]*/[0-9]*\] ' "$BLD/build.log" | tail -n 60 >&2
    die "build failed (full log: $BLD/build.log)"
fi
steps=$(grep -c '^\[[0-9]*/[0-9]*\] ' "$BLD/build.log" || true)
log "ninja: $steps steps in $(elapsed "$t") s"

# --- check -----------------------------------------------------------------------
for tg in "${TARGETS[@]}"; do
    QEMU=$BLD/qemu-system-$tg
    "$QEMU" --version | head -n1 >&2
    devs=$("$QEMU" -nodefaults -machine none -device help)
    case $tg in
    x86_64)
        grep -q '"virtio-9p-pci"' <<<"$devs" || die "$QEMU lacks virtio-9p-pci (virtfs)"
        need=(at24c-eeprom tmp105 pcie-root-port)
        ;;
    aarch64)
        need=(at24c-eeprom tmp105 tpm-tis-i2c)
        "$QEMU" -machine help | grep '^virt ' >/dev/null || die "$QEMU lacks the virt machine"
        ;;
    esac
    for d in "${need[@]}"; do
        grep -q "\"$d\"" <<<"$devs" || die "$QEMU lacks $d"
    done
    for d in virtio-i2c-rust-pci virtio-i2c-rust-device host-i2cdev; do
        if grep -q "\"$d\"" <<<"$devs"; then log "qemu-system-$tg has $d"; fi
    done
done
if [ "$VI2C_QEMU_RUST" = 1 ]; then
    QEMU=$BLD/qemu-system-x86_64
    # The HPET must be QEMU's Rust one (Kconfig: HPET selects X_HPET_RUST
    # when HAVE_RUST), and it must be in the binary.
    grep -qx 'CONFIG_X_HPET_RUST=y' "$BLD/x86_64-softmmu-config-devices.mak" ||
        die "CONFIG_X_HPET_RUST is not set in $BLD/x86_64-softmmu-config-devices.mak"
    # Not user-creatable, so not in "-device help"; its properties are.
    "$QEMU" -machine none -device hpet,help >/dev/null 2>&1 || die "$QEMU lacks the hpet device"
    log "has hpet (Rust: CONFIG_X_HPET_RUST=y)"
    # Two copies of Rust's std: every Rust frame must still unwind with a
    # real personality routine (see build-staticlib.sh).
    "$VI2C_ROOT/scripts/check-eh-personality.py" "$QEMU" >"$BLD/eh-personality.txt" || {
        cat "$BLD/eh-personality.txt" >&2
        die "$QEMU has CIEs without a personality routine"
    }
    log "eh_frame: $(grep -c '^ok' "$BLD/eh-personality.txt") personality pointers, all valid"
fi
log "done in $(elapsed) s: ${binaries[*]/#/$BLD/}"
