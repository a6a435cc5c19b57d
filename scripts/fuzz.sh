#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds and runs the cargo-fuzz targets on the stable toolchain
# (RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z sanitizer flags).
#
# usage: fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   default: 15 seconds for each of the targets in fuzz/Cargo.toml.
# Corpora and crash artifacts stay in fuzz/corpus and fuzz/artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(sed -n 's/^name = "\([a-z_]*\)"$/\1/p' fuzz/Cargo.toml | grep -v virtio-i2c-rust-fuzz)
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
fail=0
for t in "${targets[@]}"; do
    log=$(mktemp)
    if cargo fuzz run -O "$t" -- -max_total_time="$secs" -rss_limit_mb=2048 >"$log" 2>&1; then
        runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log")
        echo "fuzz $t: ok, ${runs:-?} runs in ${secs}s"
    else
        echo "fuzz $t: FAILED" >&2
        tail -40 "$log" >&2
        fail=1
    fi
    rm -f "$log"
done
exit $fail
