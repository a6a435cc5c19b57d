#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The main job: builds the patched QEMU and a small Linux guest (cached in
# build/ after the first run), then boots the guest with virtio-i2c-rust
# and shows what the guest's stock i2c-virtio driver sees.
#
# Options: see usage() below (scripts/demo.sh --help).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

usage() {
    cat <<'EOF'
usage: scripts/demo.sh [--host ADAPTER --address ADDRS]
  default: the embedded default, an emulated bus with an at24c EEPROM at
           0x50 and a tmp105 sensor at 0x48 (no hardware needed); the
           guest lists the bus, writes a greeting into the EEPROM and
           dumps it, and reads the temperature.
  --host /dev/i2c-N --address 0x50: pass a real host client through
           instead (ADAPTER may also be a number or an adapter name;
           ADDRS uses the address syntax, e.g. 0x50,0x52-0x53); the guest
           scans the bus and dumps the first address.
EOF
}

host="" address=""
while [ $# -gt 0 ]; do
    case $1 in
    --host) host=${2:?}; shift 2 ;;
    --address) address=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[ -z "$host" ] || [ -n "$address" ] || die "--host needs --address"

scripts/setup-host.sh
scripts/get-qemu.sh
scripts/build-qemu.sh
scripts/build-guest.sh

test=$(mktemp)
trap 'rm -f "$test"' EXIT
cat > "$test" <<'GUEST'
#!/bin/sh
bus=""
for d in /sys/bus/i2c/devices/i2c-*; do
    case "$(cat "$d/name")" in i2c_virtio*) bus=${d##*/i2c-} ;; esac
done
[ -n "$bus" ] || { echo "no i2c-virtio adapter"; exit 1; }
echo "### i2cdetect -l"
i2cdetect -l
echo "### i2cdetect -y $bus"
i2cdetect -y "$bus"
GUEST
if [ -z "$host" ]; then
    # shellcheck disable=SC2054 # the commas are QEMU's
    dev=(-device virtio-i2c-rust-pci,id=vi2c0
        -device at24c-eeprom,bus=vi2c0.0,address=0x50,rom-size=256
        -device tmp105,bus=vi2c0.0,address=0x48)
    cat >> "$test" <<'GUEST'
echo "### write 'hello, virtio-i2c' at 0x00 of the EEPROM (8-byte pages)"
i2ctransfer -y "$bus" w9@0x50 0x00 0x68 0x65 0x6c 0x6c 0x6f 0x2c 0x20 0x76 &&
    sleep 0.01 &&
    i2ctransfer -y "$bus" w9@0x50 0x08 0x69 0x72 0x74 0x69 0x6f 0x2d 0x69 0x32 &&
    sleep 0.01 &&
    i2ctransfer -y "$bus" w2@0x50 0x10 0x63 || exit 1
echo "### i2cdump -y -r 0x00-0x1f $bus 0x50 b"
i2cdump -y -r 0x00-0x1f "$bus" 0x50 b
echo "### tmp105 temperature register (i2cget -y $bus 0x48 0x00 w)"
i2cget -y "$bus" 0x48 0x00 w
GUEST
else
    dev=(-device "virtio-i2c-rust-pci,host=$host,address=${address//,/,,}")
    first=${address%%[,=-]*}
    cat >> "$test" <<GUEST
echo "### i2cdump -y \$bus $first b"
i2cdump -y "\$bus" $first b
GUEST
fi

log "booting the guest (TCG): ${dev[*]}"
scripts/run-guest.sh --timeout 180 --test "$test" -- "${dev[@]}"
