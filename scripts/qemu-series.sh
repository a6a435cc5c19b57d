#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Maintains the QEMU patch series (qemu-patches/) as a git branch, the way
# QEMU's own patches are kept.
#
# usage: scripts/qemu-series.sh checkout [DIR]
#        scripts/qemu-series.sh export [DIR]
#        scripts/qemu-series.sh check
#
#   checkout  make DIR a git repository: one commit with the pristine QEMU
#             tree (scripts/get-qemu.sh unpacks it), then one commit per
#             patch of the series (git am).  Edit, commit, reorder there.
#   export    write the commits of DIR back into qemu-patches/ with
#             git format-patch: numbered [PATCH n/N], the series file
#             rewritten in order, stale patch files removed.
#   check     run QEMU's scripts/checkpatch.pl on every patch of the series.
#
# DIR defaults to $VI2C_BUILD/qemu-dev.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PATCHES=${VI2C_QEMU_PATCHES:-$VI2C_ROOT/qemu-patches}
SERIES=$PATCHES/series
PRISTINE=$VI2C_BUILD/qemu-pristine
AUTHOR="virtio-i2c-rust <devel@virtio-i2c-rust.invalid>"

help() {
    cat <<'EOF'
usage: scripts/qemu-series.sh checkout [DIR]
       scripts/qemu-series.sh export [DIR]
       scripts/qemu-series.sh check

  checkout  make DIR (default build/qemu-dev) a git repository: the
            pristine QEMU tree as one commit tagged 'pristine', then one
            commit per patch of qemu-patches/series
  export    write the commits on top of 'pristine' back into
            qemu-patches/ (numbered [PATCH n/N]; series rewritten)
  check     run QEMU's scripts/checkpatch.pl on every patch of the series
EOF
}

series_names() {
    sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e 's/^[[:space:]]*//' "$SERIES" | awk 'NF { print $1 }'
}

# git in DIR only (never the repository that contains $VI2C_BUILD).
dgit() {
    GIT_CEILING_DIRECTORIES=$(dirname "$DIR") git -C "$DIR" \
        -c user.name="${AUTHOR% <*}" -c user.email="$(sed 's/.*<\(.*\)>/\1/' <<<"$AUTHOR")" \
        -c commit.gpgsign=false "$@"
}

checkout() {
    [ -f "$PRISTINE/VERSION" ] || "$VI2C_ROOT/scripts/get-qemu.sh"
    [ ! -e "$DIR" ] || die "$DIR exists; remove it first"
    log "copying the pristine tree to $DIR"
    cp -a "$PRISTINE" "$DIR"
    dgit init -q -b main
    dgit add -A
    dgit commit -q -m "QEMU $(cat "$DIR/VERSION") (pristine)"
    dgit tag -f pristine >/dev/null
    local name
    while read -r name; do
        dgit am -q --keep-cr --committer-date-is-author-date "$PATCHES/$name" ||
            die "git am $name failed in $DIR"
    done < <(series_names)
    log "$DIR: $(dgit rev-list --count pristine..HEAD) patches on top of tag 'pristine'"
}

export_series() {
    [ -d "$DIR/.git" ] || die "$DIR is not a checkout (scripts/qemu-series.sh checkout)"
    local tmp n
    tmp=$(mktemp -d)
    n=$(dgit rev-list --count pristine..HEAD)
    [ "$n" -gt 0 ] || die "no commits on top of 'pristine' in $DIR"
    dgit format-patch -q --zero-commit --no-signature --numbered \
        --subject-prefix=PATCH -o "$tmp" pristine..HEAD
    rm -f "$PATCHES"/[0-9][0-9][0-9][0-9]-*.patch
    {
        echo "# QEMU patches for virtio-i2c-rust, in the order they apply"
        echo "# (patch -p1 or git apply; scripts/get-qemu.sh applies them)."
        echo "# Maintained with scripts/qemu-series.sh; do not edit the patches by hand."
        (cd "$tmp" && ls -1 -- *.patch)
    } >"$SERIES"
    cp "$tmp"/*.patch "$PATCHES/"
    rm -rf "$tmp"
    log "exported $n patches to ${PATCHES#"$VI2C_ROOT"/}"
}

check() {
    local src=$VI2C_BUILD/qemu-src name rc=0
    [ -x "$src/scripts/checkpatch.pl" ] || "$VI2C_ROOT/scripts/get-qemu.sh"
    need_cmd perl
    while read -r name; do
        if ! perl "$src/scripts/checkpatch.pl" --no-tree -q "$PATCHES/$name" >"$VI2C_BUILD/checkpatch.log" 2>&1; then
            printf 'checkpatch: %s\n' "$name" >&2
            cat "$VI2C_BUILD/checkpatch.log" >&2
            rc=1
        fi
    done < <(series_names)
    [ "$rc" = 0 ] && log "checkpatch.pl: every patch of the series is clean"
    return "$rc"
}

cmd=${1:-}
DIR=${2:-$VI2C_BUILD/qemu-dev}
case $cmd in
checkout) checkout ;;
export) export_series ;;
check) check ;;
-h | --help) help ;;
*)
    help >&2
    exit 2
    ;;
esac
