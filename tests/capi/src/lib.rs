// SPDX-License-Identifier: GPL-2.0-or-later
//! C tests of the virtio-i2c-rust C API; see `tests/capi.rs`.
