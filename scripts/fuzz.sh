#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds and runs the cargo-fuzz targets on the stable toolchain
# (RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z sanitizer flags).
# Usage: see usage() below (scripts/fuzz.sh --help).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    cat <<'EOF'
usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
       scripts/fuzz.sh --runs N [TARGET...]
  SECONDS_PER_TARGET  how long each target runs (default 15)
  --runs N            a campaign: each target runs until it has executed N
                      inputs (libFuzzer -runs=N), inputs of at most 128
                      bytes, without libFuzzer's per-input leak check
                      (leaks are the business of the short runs, valgrind
                      and the soak benchmark); the log of each target is
                      kept in build/logs/fuzz-campaign/TARGET.log
Environment: VI2C_FUZZ_SANITIZER=none runs the targets without
AddressSanitizer (cargo fuzz -s none; 3-5x faster; panics, assertion
failures and aborts are still found): for campaigns of the targets that
reach no unsafe code of their own (host_i2cdev, worker).  Default: address.
  TARGET              run only these targets (each must be one that
                      `cargo fuzz list` reports)
Default: every target that `cargo fuzz list` reports, i.e. every [[bin]] of
fuzz/Cargo.toml, so targets added later run without a change here.
Fails when there is no target to run, when a target fails (a crash, a leak,
a timeout), or when a target reports no runs ("Done N runs" with N = 0, or
no such line at all): a run that executed nothing proves nothing.
Corpora and crash artifacts stay in fuzz/corpus and fuzz/artifacts.
EOF
}

case ${1:-} in
-h | --help) usage; exit 0 ;;
esac
runs_wanted=
if [ "${1:-}" = --runs ]; then
    runs_wanted=${2:-}
    case $runs_wanted in
    '' | *[!0-9]* | 0)
        echo "fuzz.sh: --runs needs a positive number, not '$runs_wanted'" >&2
        usage >&2
        exit 2
        ;;
    esac
    shift 2
    set -- 1 "$@"
fi
secs=${1:-15}
case $secs in
'' | *[!0-9]* | 0)
    echo "fuzz.sh: SECONDS_PER_TARGET must be a positive number, not '$secs'" >&2
    usage >&2
    exit 2
    ;;
esac
shift || true

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1

# The targets as cargo-fuzz sees them (the [[bin]] entries of fuzz/Cargo.toml).
list=$(cargo fuzz list) || {
    echo "fuzz.sh: FAILED: 'cargo fuzz list' failed" >&2
    exit 1
}
known=()
[ -z "$list" ] || mapfile -t known <<<"$list"
if [ ${#known[@]} -eq 0 ]; then
    echo "fuzz.sh: FAILED: 'cargo fuzz list' reports no fuzz target (fuzz/Cargo.toml has no [[bin]])" >&2
    exit 1
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=("${known[@]}")
else
    for t in "${targets[@]}"; do
        if ! printf '%s\n' "${known[@]}" | grep -xF -- "$t" >/dev/null; then
            echo "fuzz.sh: FAILED: no fuzz target '$t' (targets: ${known[*]})" >&2
            exit 1
        fi
    done
fi

san=${VI2C_FUZZ_SANITIZER:-address}
cargo fuzz build -O -s "$san"
ok=0 failed=0
if [ -n "$runs_wanted" ]; then
    mkdir -p build/logs/fuzz-campaign
    limit=(-runs="$runs_wanted" -max_len=128 -detect_leaks=0)
else
    limit=(-max_total_time="$secs")
fi
for t in "${targets[@]}"; do
    if [ -n "$runs_wanted" ]; then
        log=build/logs/fuzz-campaign/$t.log
    else
        log=$(mktemp)
    fi
    start=$SECONDS
    if cargo fuzz run -O -s "$san" "$t" -- "${limit[@]}" -rss_limit_mb=2048 >"$log" 2>&1; then
        # libFuzzer's last line: "Done 123456 runs in 15 second(s)".
        runs=$(sed -n 's/^Done \([0-9][0-9]*\) runs.*/\1/p' "$log" | tail -n1)
        if [ -n "$runs" ] && [ "$runs" -gt 0 ]; then
            echo "fuzz $t: ok, $runs runs in $((SECONDS - start))s"
            ok=$((ok + 1))
        else
            echo "fuzz $t: FAILED: no runs reported (${runs:-no 'Done N runs' line})" >&2
            tail -20 "$log" >&2
            failed=$((failed + 1))
        fi
    else
        echo "fuzz $t: FAILED" >&2
        tail -40 "$log" >&2
        failed=$((failed + 1))
    fi
    [ -n "$runs_wanted" ] || rm -f "$log"
done
echo "fuzz: $ok passed, $failed failed (${#targets[@]} targets)"
[ "$failed" -eq 0 ] && [ "$ok" -eq ${#targets[@]} ] && [ "$ok" -gt 0 ]
