#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The whole test suite, from a fresh clone: installs what it needs, then
# runs every phase and prints a summary. `.ci/run` calls it.
#
# Usage: see usage() below (scripts/test-all.sh --help).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. scripts/lib.sh

usage() {
    cat <<'EOF'
usage: scripts/test-all.sh [PHASE...]
  phases (default: all, in this order):
    setup      host packages (scripts/setup-host.sh)
    lint       cargo fmt --check, the import style (lint-imports.py), clippy
               -D warnings (all targets, and the shipped library alone),
               rustdoc -D warnings (the C API, and the internal layers)
    staticlib  the shipped archive (scripts/build-staticlib.sh)
    offline    a vendored copy of the tree builds with no network and an
               empty cargo home, as a distribution builds it
    cargo      unit, integration and C ABI tests (cargo test --workspace)
    valgrind   the C ABI tests again under valgrind
    fuzz       a short run of every cargo-fuzz target
    qemu       fetch and patch QEMU 10.0 and 10.2 (cached in build/), check
               the series (QEMU's checkpatch.pl, the shared files the same
               in both), build QEMU 10.0
    guest      guest end-to-end tests (tests/guest/run.sh) on QEMU 10.0
    hostguest  real i2c-dev in a guest and the nested chain
               (tests/hostguest/run.sh), on QEMU 10.0
    qtest      QEMU's own I2C qtests and ours (tests/qtest/run.sh), 10.0
    qemu-10.2, guest-10.2, qtest-10.2
               build QEMU 10.2; the guest tests and qtests on it
Environment: VI2C_FUZZ_SECONDS (default 15 per target).
EOF
}
case ${1:-} in -h | --help) usage; exit 0 ;; esac

all=(setup lint staticlib offline cargo valgrind fuzz qemu guest hostguest qtest
    qemu-10.2 guest-10.2 qtest-10.2)
phases=("$@")
[ ${#phases[@]} -gt 0 ] || phases=("${all[@]}")

export CARGO_TERM_COLOR=never
STATICLIB=$VI2C_BUILD/staticlib/libvirtio_i2c_rust.a

phase_setup() { scripts/setup-host.sh; }

phase_lint() {
    cargo fmt --all -- --check &&
        scripts/lint-imports.py &&
        git ls-files -z '*.sh' .ci/run | xargs -0 shellcheck -x -S warning &&
        cargo clippy --workspace --all-targets --locked -- -D warnings &&
        cargo clippy --lib --locked -- -D warnings &&
        RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked &&
        RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked --features test-utils \
            --target-dir target/doc-internal
}

phase_staticlib() { scripts/build-staticlib.sh "$STATICLIB"; }

phase_offline() {
    local t
    t=$(mktemp -d)
    git ls-files -z | xargs -0 cp --parents -t "$t" &&
        (cd "$t" && scripts/vendor.sh) &&
        (cd "$t" && CARGO_HOME="$t/cargo-home" CARGO_NET_OFFLINE=true \
            scripts/build-staticlib.sh --target-dir "$VI2C_BUILD/offline-target" "$t/lib.a") &&
        nm -g --defined-only "$t/lib.a" | grep ' T vi2c_device_push$' >/dev/null
    local rc=$?
    rm -rf "$t"
    return $rc
}

phase_cargo() {
    [ -f "$STATICLIB" ] || phase_staticlib || return 1
    VI2C_STATICLIB=$STATICLIB cargo test --workspace --locked
}

phase_valgrind() {
    local bin
    bin=$(cargo test -p vi2c-capi-tests --test capi --locked --no-run --message-format=json 2>/dev/null |
        python3 -c 'import json, sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "capi":
        print(m["executable"])') || return 1
    [ -n "$bin" ] || { echo "C test binary not found" >&2; return 1; }
    valgrind -q --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect "$bin" --test-threads=1
}

phase_fuzz() { scripts/fuzz.sh "${VI2C_FUZZ_SECONDS:-15}"; }

phase_qemu() {
    local s
    for s in "${VI2C_QEMU_SERIES_ALL[@]}"; do
        VI2C_QEMU_SERIES=$s scripts/get-qemu.sh || return 1
    done
    scripts/qemu-series.sh check && VI2C_QEMU_SERIES=10.0 scripts/build-qemu.sh
}

phase_guest() { scripts/build-guest.sh && VI2C_QEMU_SERIES=10.0 tests/guest/run.sh; }

phase_hostguest() { scripts/build-guest.sh && VI2C_QEMU_SERIES=10.0 tests/hostguest/run.sh; }

phase_qtest() { VI2C_QEMU_SERIES=10.0 tests/qtest/run.sh; }

phase_qemu-10.2() { VI2C_QEMU_SERIES=10.2 scripts/get-qemu.sh && VI2C_QEMU_SERIES=10.2 scripts/build-qemu.sh; }

phase_guest-10.2() { scripts/build-guest.sh && VI2C_QEMU_SERIES=10.2 tests/guest/run.sh; }

phase_qtest-10.2() { VI2C_QEMU_SERIES=10.2 tests/qtest/run.sh; }

passed=0 failed=0
results=()
for p in "${phases[@]}"; do
    if ! declare -F "phase_$p" >/dev/null; then
        die "unknown phase '$p' (phases: ${all[*]})"
    fi
    printf '\n=== phase %s\n' "$p"
    t0=$(date +%s.%N)
    if "phase_$p"; then
        r=ok
        passed=$((passed + 1))
    else
        r=FAILED
        failed=$((failed + 1))
    fi
    t=$(elapsed "$t0")
    results+=("$(printf '%-10s %-6s %7ss' "$p" "$r" "$t")")
    printf '=== phase %s: %s (%ss)\n' "$p" "$r" "$t"
done

printf '\n=== summary (total %ss)\n' "$(elapsed)"
printf '%s\n' "${results[@]}"
printf 'phases: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
