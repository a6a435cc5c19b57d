# SPDX-License-Identifier: GPL-2.0-or-later
#
# Added to the device set by scripts/build-qemu.sh with VI2C_QEMU_RUST=1
# (configure --enable-rust).  The HPET is "default y if PC", which
# --without-default-devices turns off; with HAVE_RUST it selects QEMU's Rust
# implementation (X_HPET_RUST, rust/hw/timer/hpet) instead of the C one, and
# q35 and pc then create it (their "hpet" property is on by default).
CONFIG_HPET=y
