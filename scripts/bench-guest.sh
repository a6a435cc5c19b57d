#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# In-guest benchmark: mean microseconds per 1-byte and 32-byte EEPROM read
# (write offset, repeated START, read) over COUNT transfers, through
# virtio-i2c-rust's emulated bus and through q35's emulated ICH9 SMBus
# (i2c-i801), to the same kind of EEPROM (at24c-eeprom), in one TCG guest.
# Prints both figures and their ratio; results go to build/bench-guest.txt.
#
# usage: scripts/bench-guest.sh [COUNT]   (default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
count=${1:-2000}

scripts/get-qemu.sh
scripts/build-qemu.sh
scripts/build-guest.sh

# A static binary: the guest has no Rust runtime libraries.
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked \
    --example i2c_bench --target x86_64-unknown-linux-gnu
bench=$VI2C_ROOT/target/x86_64-unknown-linux-gnu/release/examples/i2c_bench

test=$(mktemp)
trap 'rm -f "$test"' EXIT
cat > "$test" <<GUEST
#!/bin/sh
v="" s=""
for d in /sys/bus/i2c/devices/i2c-*; do
    case "\$(cat "\$d/name")" in
    i2c_virtio*) v=\${d##*/i2c-} ;;
    SMBus\ I801*) s=\${d##*/i2c-} ;;
    esac
done
[ -n "\$v" ] && [ -n "\$s" ] || { echo "adapters missing: virtio='\$v' i801='\$s'"; exit 1; }
echo "cpu: \$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
/files/i2c_bench /dev/i2c-\$v 0x50 $count || exit 1
/files/i2c_bench /dev/i2c-\$s 0x58 $count || exit 1
GUEST

log "booting the benchmark guest (TCG)"
out=$VI2C_BUILD/logs/bench-guest.log
mkdir -p "$VI2C_BUILD/logs"
scripts/run-guest.sh --timeout 600 --file "$bench" --test "$test" -- \
    -device "virtio-i2c-rust-pci,id=vi2c0${VI2C_BENCH_DEVICE_OPTS:-}" \
    -device at24c-eeprom,bus=vi2c0.0,address=0x50,rom-size=256 \
    -device at24c-eeprom,bus=i2c,address=0x58,rom-size=256 > "$out" 2>&1 ||
    { tail -30 "$out"; die "benchmark guest failed (log: $out)"; }

res=$VI2C_BUILD/bench-guest.txt
python3 - "$out" "$count" > "$res" <<'PY'
import re, sys
log = open(sys.argv[1], errors="replace").read()
vals = {}
for dev, n, us in re.findall(r"(/dev/i2c-\d+) read(\d+): ([0-9.]+) us", log):
    vals.setdefault(n, []).append(float(us))
print(f"transfers per figure: {sys.argv[2]}")
for n in ("1", "32"):
    v, s = vals[n]
    print(f"read{n:>2}: virtio-i2c-rust {v:8.1f} us   ICH9 SMBus (i801) {s:8.1f} us   ratio {s / v:5.2f}x")
PY
cat "$res"
