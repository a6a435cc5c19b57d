#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Makes the tree buildable offline, as distributions build: copies every
# crate of Cargo.lock into vendor/ and points cargo at it through
# .cargo/config.toml. scripts/build-staticlib.sh (and so the meson
# subproject) then builds with --offline --locked.
#
# usage: scripts/vendor.sh   (run from a release tarball or a checkout)
set -eu
cd "$(dirname "$0")/.."
mkdir -p .cargo
cargo vendor --locked --versioned-dirs vendor > .cargo/config.toml.new
mv .cargo/config.toml.new .cargo/config.toml
echo "vendored $(ls vendor | wc -l) crates; offline builds use .cargo/config.toml"
