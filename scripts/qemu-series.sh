#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Maintains the QEMU patch series (qemu-patches/<series>/) as git branches,
# the way QEMU's own patches are kept.  One series per QEMU release kept
# (qemu-patches/README.md); VI2C_QEMU_SERIES picks it (default 10.0).
# Usage: see usage() below (scripts/qemu-series.sh --help).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PATCHES=$VI2C_ROOT/qemu-patches/$VI2C_QEMU_SERIES
SERIES=$PATCHES/series
PRISTINE=$VI2C_QEMU_DIR/pristine
AUTHOR="virtio-i2c-rust <devel@virtio-i2c-rust.invalid>"

usage() {
    cat <<'EOF'
usage: scripts/qemu-series.sh checkout [DIR]
       scripts/qemu-series.sh export [DIR]
       scripts/qemu-series.sh port FROM_DIR [DIR]
       scripts/qemu-series.sh check

The series is qemu-patches/$VI2C_QEMU_SERIES (10.0 by default, or 10.2);
DIR defaults to build/qemu-<series>/dev.

  checkout  make DIR a git repository: the pristine QEMU tree of the
            series as one commit tagged 'pristine', then one commit per
            patch of its series file
  export    write the commits on top of 'pristine' back into
            qemu-patches/<series>/ (numbered [PATCH n/N]; series rewritten)
  port      replace the commits of DIR with those of FROM_DIR (the checkout
            of another series) rebased onto this series' 'pristine';
            conflicts stop the rebase in DIR, to be resolved there (git
            rerere remembers the resolutions)
  check     for every series: QEMU's scripts/checkpatch.pl on each patch;
            and the files the series create must be the same in all of
            them (one source of truth for the devices' C files)
EOF
}

series_names() { # series_names SERIES_FILE
    sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e 's/^[[:space:]]*//' "$1" | awk 'NF { print $1 }'
}

# git in DIR only (never the repository that contains $VI2C_BUILD).
dgit() {
    GIT_CEILING_DIRECTORIES=$(dirname "$DIR") git -C "$DIR" \
        -c user.name="${AUTHOR% <*}" -c user.email="$(sed 's/.*<\(.*\)>/\1/' <<<"$AUTHOR")" \
        -c commit.gpgsign=false -c rerere.enabled=true -c rerere.autoupdate=true "$@"
}

checkout() {
    [ -f "$PRISTINE/VERSION" ] || "$VI2C_ROOT/scripts/get-qemu.sh"
    [ ! -e "$DIR" ] || die "$DIR exists; remove it first"
    log "copying the pristine tree to $DIR"
    cp -a "$PRISTINE" "$DIR"
    dgit init -q -b main
    # -f: QEMU's .gitignore names directories that its tarball ships.
    dgit add -A -f
    dgit commit -q -m "QEMU $(cat "$DIR/VERSION") (pristine)"
    dgit tag -f pristine >/dev/null
    local name
    while read -r name; do
        dgit am -q --keep-cr --committer-date-is-author-date "$PATCHES/$name" ||
            die "git am $name failed in $DIR"
    done < <(series_names "$SERIES")
    log "$DIR: $(dgit rev-list --count pristine..HEAD) patches on top of tag 'pristine'"
}

export_series() {
    [ -d "$DIR/.git" ] || die "$DIR is not a checkout (scripts/qemu-series.sh checkout)"
    local tmp n
    tmp=$(mktemp -d)
    n=$(dgit rev-list --count pristine..HEAD)
    [ "$n" -gt 0 ] || die "no commits on top of 'pristine' in $DIR"
    # --full-index: check compares the blobs of the files the series create.
    dgit format-patch -q --zero-commit --no-signature --numbered --full-index \
        --subject-prefix=PATCH -o "$tmp" pristine..HEAD
    mkdir -p "$PATCHES"
    rm -f "$PATCHES"/[0-9][0-9][0-9][0-9]-*.patch
    {
        echo "# QEMU $VI2C_QEMU_SERIES patches for virtio-i2c-rust, in the order they apply"
        echo "# (patch -p1 or git apply; scripts/get-qemu.sh applies them)."
        echo "# Maintained with scripts/qemu-series.sh; do not edit the patches by hand."
        (cd "$tmp" && ls -1 -- *.patch)
    } >"$SERIES"
    cp "$tmp"/*.patch "$PATCHES/"
    rm -rf "$tmp"
    log "exported $n patches to ${PATCHES#"$VI2C_ROOT"/}"
}

port() {
    local from=$1
    [ -d "$DIR/.git" ] || die "$DIR is not a checkout (VI2C_QEMU_SERIES=$VI2C_QEMU_SERIES scripts/qemu-series.sh checkout)"
    [ -d "$from/.git" ] || die "$from is not a checkout"
    [ ! -d "$DIR/.git/rebase-merge" ] && [ ! -d "$DIR/.git/rebase-apply" ] ||
        die "a rebase is in progress in $DIR: finish it (git rebase --continue) or abort it first"
    dgit fetch -q "$from" +main:refs/heads/port-from +pristine:refs/tags/port-from-pristine
    dgit checkout -q -B main port-from
    log "rebasing $(dgit rev-list --count port-from-pristine..port-from) commits of $from onto 'pristine'"
    # A conflict that git rerere resolved as before stops the rebase all
    # the same: go on while no file is left unmerged.
    if ! dgit rebase -q --onto pristine port-from-pristine main; then
        while [ -d "$DIR/.git/rebase-merge" ] && [ -z "$(dgit diff --name-only --diff-filter=U)" ]; do
            GIT_EDITOR=true dgit rebase --continue >/dev/null 2>&1 || true
        done
        [ ! -d "$DIR/.git/rebase-merge" ] ||
            die "conflicts: resolve them in $DIR, 'git rebase --continue', then export"
    fi
    log "$DIR: $(dgit rev-list --count pristine..HEAD) patches on top of tag 'pristine'; export when built and tested"
}

# created_blobs SERIES_DIR: "path blob" for each file a patch of the series
# creates, as of the last patch that touches it.
created_blobs() {
    local name
    while read -r name; do cat "$1/$name"; done < <(series_names "$1/series") |
        awk '/^diff --git a\// { path = substr($4, 3); next }
             /^new file mode/ { created[path] = 1; next }
             /^index [0-9a-f]+\.\.[0-9a-f]+/ { split($2, b, "\\.\\."); blob[path] = b[2] }
             END { for (p in created) print p, blob[p] }' | sort
}

check() {
    local series name rc=0 src
    need_cmd perl
    for series in "${VI2C_QEMU_SERIES_ALL[@]}"; do
        src=$VI2C_BUILD/qemu-$series/src
        [ -x "$src/scripts/checkpatch.pl" ] || VI2C_QEMU_SERIES=$series "$VI2C_ROOT/scripts/get-qemu.sh"
        while read -r name; do
            if ! perl "$src/scripts/checkpatch.pl" --no-tree -q "$VI2C_ROOT/qemu-patches/$series/$name" \
                >"$VI2C_BUILD/checkpatch.log" 2>&1; then
                printf 'checkpatch (QEMU %s): %s\n' "$series" "$name" >&2
                cat "$VI2C_BUILD/checkpatch.log" >&2
                rc=1
            fi
        done < <(series_names "$VI2C_ROOT/qemu-patches/$series/series")
    done
    [ "$rc" = 0 ] && log "checkpatch.pl: every patch of every series is clean"

    # The same new files, with the same content, in every series.
    local first=${VI2C_QEMU_SERIES_ALL[0]} other diffs
    for other in "${VI2C_QEMU_SERIES_ALL[@]:1}"; do
        diffs=$(diff <(created_blobs "$VI2C_ROOT/qemu-patches/$first") \
            <(created_blobs "$VI2C_ROOT/qemu-patches/$other")) || {
            printf 'the files created by the %s and %s series differ (path blob; < %s, > %s):\n%s\n' \
                "$first" "$other" "$first" "$other" "$diffs" >&2
            rc=1
        }
    done
    [ "$rc" = 0 ] && log "the series ${VI2C_QEMU_SERIES_ALL[*]} create the same $(created_blobs "$VI2C_ROOT/qemu-patches/$first" | wc -l) files"
    return "$rc"
}

cmd=${1:-}
case $cmd in
checkout | export | check)
    DIR=${2:-$VI2C_QEMU_DIR/dev}
    ;;
port)
    [ -n "${2:-}" ] || { usage >&2; exit 2; }
    DIR=${3:-$VI2C_QEMU_DIR/dev}
    ;;
esac
case $cmd in
checkout) checkout ;;
export) export_series ;;
port) port "$2" ;;
check) check ;;
-h | --help) usage ;;
*)
    usage >&2
    exit 2
    ;;
esac
