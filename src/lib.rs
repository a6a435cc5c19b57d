// SPDX-License-Identifier: GPL-2.0-or-later
//! virtio-i2c-rust: a virtio-i2c adapter and an I2C passthrough target for
//! QEMU, with a stable C ABI.
#![deny(unsafe_code)]

pub mod ffi;
pub mod host;
pub mod host_i2cdev;
pub mod i2c;
pub mod policy;
pub mod virtio;
