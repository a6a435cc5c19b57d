// SPDX-License-Identifier: GPL-2.0-or-later
//! virtio-i2c-rust: a virtio-i2c adapter and an I2C passthrough target for
//! QEMU, with a stable C ABI.
//!
//! Layers, each importing only from the ones below it (`tests/layers.rs`
//! checks every `crate::` path against this table):
//!
//! | layer | what | imports from |
//! |---|---|---|
//! | `ffi` | the C ABI: handles, status codes, panic boundary, iovecs | every layer below |
//! | `virtio` | the virtio-i2c device: request queue, parse, group, execute, write back | `capture`, `policy`, `host`, `i2c` |
//! | `host_i2cdev` | QEMU's host-i2cdev target: byte events to whole transfers | `capture`, `policy`, `host`, `i2c` |
//! | `capture` | traffic capture: transfers and their outcomes into a pcapng file (link type 209) | `i2c` |
//! | `policy` | the address allow-list, remaps, read-only clients | `i2c` |
//! | `host` | `I2cAdapter` and the adapters: Linux i2c-dev, byte-level bus, simulation | `i2c` |
//! | `i2c` | the ground floor: Address, Msg, Transfer, Funcs, limits | nothing |
//!
//! The C ABI ([`ffi`]) is the product's interface. The layers below it are
//! crate-private, and public only to the crate's own tests, benchmarks and
//! fuzz targets, through the `test-utils` feature.
#![deny(unsafe_code)]

/// A layer: public with the `test-utils` feature, crate-private without.
macro_rules! layer {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[cfg(feature = "test-utils")]
        pub mod $name;
        $(#[$m])*
        #[cfg(not(feature = "test-utils"))]
        pub(crate) mod $name;
    };
}

pub mod ffi;
layer!(capture);
layer!(host);
layer!(host_i2cdev);
layer!(i2c);
layer!(policy);
layer!(virtio);
