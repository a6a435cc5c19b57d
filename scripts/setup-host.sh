#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Install the Debian packages the project needs on the build host (Debian
# bookworm, root).  Does nothing when they are all installed already.
#
# Usage: scripts/setup-host.sh [--list]
#   --list   print the package list and exit
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# The one list of host packages, with the reason for each group.
HOST_PACKAGES=(
    # C toolchain, source handling (patch series, rsync of the QEMU tree)
    build-essential git patch rsync ca-certificates
    # QEMU's build: meson runs in a venv of the system python; glib is its
    # only hard library dependency; ccache makes clean rebuilds cheap
    python3 python3-venv python3-pip ninja-build pkg-config libglib2.0-dev ccache
    # virtfs (virtio-9p) in QEMU, used to share host directories with guests
    libcap-ng-dev libattr1-dev
    # device trees: x86 microvm and Arm virt need libfdt
    libfdt-dev
    # bindgen (build.rs of the Rust crate) needs libclang
    clang libclang-dev
    # QEMU's own Rust (build-qemu.sh with VI2C_QEMU_RUST=1) runs the bindgen
    # program (>= 0.60)
    bindgen
    # C ABI tests under valgrind; the lint phase checks the shell scripts
    valgrind shellcheck
    # tests/capture.rs reads the library's capture files back with tshark
    tshark
    # guest images: deb extraction, initramfs, module tree, vmlinux extraction
    binutils cpio gzip xz-utils zstd kmod bc
    # the arm64 guest (VI2C_GUEST_ARCH=arm64 scripts/build-guest.sh): its
    # i2c-virtio.ko is cross-compiled with the arm64 kernel's compiler, gcc-12
    gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
)

if [ "${1:-}" = --list ]; then
    printf '%s\n' "${HOST_PACKAGES[@]}"
    exit 0
fi

[ "$(id -u)" = 0 ] || die "must run as root (uses the host's apt-get install)"

missing=()
for p in "${HOST_PACKAGES[@]}"; do
    s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$s" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    log "all ${#HOST_PACKAGES[@]} host packages already installed"
    exit 0
fi

log "missing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -q update
apt-get -q install -y --no-install-recommends "${missing[@]}"

still=()
for p in "${missing[@]}"; do
    s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$s" = installed ] || still+=("$p")
done
[ ${#still[@]} -eq 0 ] || die "still not installed: ${still[*]}"

log "installed:"
for p in "${missing[@]}"; do
    printf '  %s %s\n' "$p" "$(dpkg-query -W -f='${Version}' "$p")" >&2
done
log "done in $(elapsed) s"
