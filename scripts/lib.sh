# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Common helpers for the scripts in this directory.  Source it, do not run it:
#   . "$(dirname "$0")/lib.sh"
#
# Provides: VI2C_ROOT (repository root), VI2C_BUILD (all downloads and build
# output, default <repo>/build), log/warn/die, stamp helpers and a private apt
# configuration (apt_priv) that never touches the host's apt state.

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

# Stable locale so that the output of the tools we parse does not change.
export LC_ALL=C

# The distribution we run on; the guest userland (busybox, i2c-tools) and the
# backports kernel come from it, QEMU's source and firmware from its successor.
VI2C_SUITE=bookworm
VI2C_NEXT_SUITE=trixie

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

# ---------------------------------------------------------------------------
# Private apt configuration
#
# Debian mirrors are not hard-coded: they are read at run time from the
# host's deb822 sources (the main archive and the security archive).  The
# private configuration has its own sources list, preferences, lists, cache
# and (empty) dpkg status, so it can see trixie and bookworm-backports and
# download packages and sources without changing what the host's apt sees.
# ---------------------------------------------------------------------------
VI2C_APT=$VI2C_BUILD/apt
VI2C_HOST_SOURCES=${VI2C_HOST_SOURCES:-/etc/apt/sources.list.d/debian.sources}

# Prints "main <uri> <signed-by>" and "security <uri> <signed-by>" for the
# host's Debian archives.
apt_host_mirrors() {
    [ -r "$VI2C_HOST_SOURCES" ] ||
        die "cannot read $VI2C_HOST_SOURCES (needed to find the Debian mirror)"
    awk '
        function flush() {
            if (uris != "" && suites != "") {
                kind = (suites ~ /-security/) ? "security" : "main"
                if (!(kind in seen)) {
                    seen[kind] = 1
                    split(uris, u, /[ \t]+/)
                    printf "%s %s %s\n", kind, u[1], (signed == "" ? "-" : signed)
                }
            }
            uris = ""; suites = ""; signed = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        {
            line = $0
            key = line; sub(/:.*/, "", key)
            val = line; sub(/^[^:]*:[ \t]*/, "", val); sub(/[ \t]+$/, "", val)
            if (key == "URIs") uris = val
            else if (key == "Suites") suites = val
            else if (key == "Signed-By") signed = val
            else if (key == "Enabled" && val == "no") { uris = "" }
        }
        END { flush() }
    ' "$VI2C_HOST_SOURCES"
}

apt_setup() {
    local main_uri="" sec_uri="" keyring="" kind uri sb
    while read -r kind uri sb; do
        case $kind in
        main) main_uri=$uri ;;
        security) sec_uri=$uri ;;
        esac
        if [ -z "$keyring" ] && [ "$sb" != - ] && [ -f "$sb" ]; then
            keyring=$sb
        fi
    done < <(apt_host_mirrors)
    [ -n "$main_uri" ] || die "no Debian archive URI found in $VI2C_HOST_SOURCES"
    if [ -z "$sec_uri" ]; then
        # Same host, standard layout.
        sec_uri=${main_uri%/debian}/debian-security
        warn "no security archive in $VI2C_HOST_SOURCES, guessing $sec_uri"
    fi
    keyring=${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}
    [ -f "$keyring" ] || die "Debian archive keyring $keyring missing"

    mkdir -p "$VI2C_APT"/{lists/partial,cache/archives/partial,state,sources.list.d,preferences.d}
    [ -f "$VI2C_APT/status" ] || : >"$VI2C_APT/status"

    local new="$VI2C_APT/sources.list.new" s
    {
        echo "# Generated by scripts/lib.sh from $VI2C_HOST_SOURCES; do not edit."
        for s in "$VI2C_SUITE" "$VI2C_SUITE-updates" "$VI2C_SUITE-backports" "$VI2C_NEXT_SUITE"; do
            echo "deb [signed-by=$keyring] $main_uri $s main"
            echo "deb-src [signed-by=$keyring] $main_uri $s main"
        done
        for s in "$VI2C_SUITE-security" "$VI2C_NEXT_SUITE-security"; do
            echo "deb [signed-by=$keyring] $sec_uri $s main"
            echo "deb-src [signed-by=$keyring] $sec_uri $s main"
        done
    } >"$new"
    if cmp -s "$new" "$VI2C_APT/sources.list"; then
        rm -f "$new"
    else
        mv "$new" "$VI2C_APT/sources.list"
        stamp_clear apt-update
    fi

    # trixie only when asked for explicitly (pkg/trixie or pkg=version): the
    # default candidates stay bookworm's, as on the host.
    cat >"$VI2C_APT/preferences" <<EOF
Package: *
Pin: release n=$VI2C_NEXT_SUITE
Pin-Priority: 100

Package: *
Pin: release n=$VI2C_NEXT_SUITE-security
Pin-Priority: 100
EOF

    # APT_CONFIG is read before the host's apt.conf.d (kept: it may carry a
    # proxy or Check-Valid-Until settings the mirror needs); Dir::Etc::Main
    # is read last, so our directories win there and the host's cache-cleaning
    # hooks are dropped.
    echo "Dir::Etc::Main \"$VI2C_APT/main.conf\";" >"$VI2C_APT/apt.conf"
    {
        if [ -f /etc/apt/apt.conf ]; then echo '#include "/etc/apt/apt.conf";'; fi
        cat <<EOF
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
#clear DPkg::Post-Invoke;
#clear DPkg::Pre-Install-Pkgs;
Dir::Etc::SourceList "$VI2C_APT/sources.list";
Dir::Etc::SourceParts "$VI2C_APT/sources.list.d";
Dir::Etc::Preferences "$VI2C_APT/preferences";
Dir::Etc::PreferencesParts "$VI2C_APT/preferences.d";
Dir::State "$VI2C_APT/state";
Dir::State::Lists "$VI2C_APT/lists";
Dir::State::status "$VI2C_APT/status";
Dir::Cache "$VI2C_APT/cache";
Dir::Cache::Archives "$VI2C_APT/cache/archives";
Dir::Cache::pkgcache "$VI2C_APT/cache/pkgcache.bin";
Dir::Cache::srcpkgcache "$VI2C_APT/cache/srcpkgcache.bin";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled "false";
EOF
    } >"$VI2C_APT/main.conf"
}

# apt_priv apt-get|apt-cache ARGS...: run with the private configuration.
apt_priv() {
    APT_CONFIG="$VI2C_APT/apt.conf" "$@"
}

# Refresh the private package lists once a day (or when the sources change).
# The lock is held only during the update: child scripts update too.
apt_priv_update() {
    local fd
    mkdir -p "$VI2C_BUILD/locks"
    exec {fd}>"$VI2C_BUILD/locks/apt"
    flock "$fd"
    apt_priv_update_locked
    exec {fd}>&-
}
apt_priv_update_locked() {
    apt_setup
    local st
    st=$(stamp_file apt-update)
    if [ -f "$st" ] && [ -z "$(find "$st" -mmin +1440)" ]; then
        return 0
    fi
    log "updating private apt lists ($VI2C_APT)"
    local t
    t=$(date +%s.%N)
    apt_priv apt-get -q -o APT::Update::Error-Mode=any update >"$VI2C_APT/update.log" 2>&1 || {
        cat "$VI2C_APT/update.log" >&2
        die "private apt-get update failed"
    }
    grep -E '^(W|E):' "$VI2C_APT/update.log" >&2 || true
    stamp_set apt-update "$(date +%s)"
    log "private apt lists updated in $(elapsed "$t") s"
}

# apt_priv_download DIR PKG[=VER|/SUITE]...: download .debs into DIR unless
# a matching file is already there.
apt_priv_download() {
    local dir=$1 p name ver want=()
    shift
    mkdir -p "$dir"
    for p in "$@"; do
        name=${p%%[=/]*}
        ver=""
        case $p in *=*) ver=${p#*=} ;; esac
        # apt writes the epoch's ':' as %3a in file names.
        if [ -n "$ver" ] && compgen -G "$dir/${name}_${ver/:/%3a}_*.deb" >/dev/null; then
            continue
        fi
        if [ -z "$ver" ] && compgen -G "$dir/${name}_*.deb" >/dev/null; then
            continue
        fi
        want+=("$p")
    done
    [ ${#want[@]} -gt 0 ] || return 0
    apt_priv_update
    log "downloading ${want[*]}"
    if ! (cd "$dir" && apt_priv apt-get -qq download "${want[@]}"); then
        # The lists may be stale (a superseded version is gone): refresh once.
        warn "download failed; refreshing the package lists and retrying"
        stamp_clear apt-update
        apt_priv_update
        (cd "$dir" && apt_priv apt-get -qq download "${want[@]}") ||
            die "apt-get download ${want[*]} failed"
    fi
}

# deb_path DIR PKG [VERSION]: path of the .deb of PKG (of that version) in DIR.
deb_path() {
    local v=${3:-*} f
    f=$(compgen -G "$1/${2}_${v/:/%3a}_*.deb" | sort | tail -n1)
    [ -n "$f" ] || die "no $2${3:+ $3} .deb in $1"
    printf '%s\n' "$f"
}

# apt_priv_versions [--src] PKG REGEX SUITE...: the versions of PKG (binary,
# or source with --src) matching REGEX that the given suites offer, in
# ascending dpkg order.
apt_priv_versions() {
    local kind=Packages
    if [ "$1" = --src ]; then
        kind=Sources
        shift
    fi
    local pkg=$1 pat=$2
    shift 2
    local suites
    suites=$(printf '%s|' "$@")
    apt_priv apt-cache madison "$pkg" |
        PAT=$pat SRE=" (${suites%|})/main " KIND=" $kind\$" awk -F' *[|] *' '
            $2 ~ ENVIRON["PAT"] && $3 ~ ENVIRON["SRE"] && $3 ~ ENVIRON["KIND"] { print $2 }' |
        sort -u | sort_versions
}

# Like apt_priv_versions, but only the highest version (or nothing).
apt_priv_newest() {
    apt_priv_versions "$@" | tail -n1
}

# Sort Debian version strings (stdin, one per line) in dpkg order, ascending.
sort_versions() {
    local v i j tmp out=()
    while read -r v; do [ -n "$v" ] && out+=("$v"); done
    for ((i = 1; i < ${#out[@]}; i++)); do
        for ((j = i; j > 0; j--)); do
            dpkg --compare-versions "${out[j - 1]}" gt "${out[j]}" || break
            tmp=${out[j]}
            out[j]=${out[j - 1]}
            out[j - 1]=$tmp
        done
    done
    [ ${#out[@]} -eq 0 ] || printf '%s\n' "${out[@]}"
}
