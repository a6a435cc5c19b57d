// SPDX-License-Identifier: GPL-2.0-or-later
//! Generates the Linux I2C userspace API (`<linux/i2c.h>`,
//! `<linux/i2c-dev.h>`) with bindgen into `$OUT_DIR/uapi.rs`, which
//! `src/host/uapi.rs` includes.
//!
//! Taking the definitions from the installed kernel headers, instead of
//! copying them by hand, means a layout can never drift from what the kernel
//! reads; `src/host/uapi.rs` pins the values and layouts with tests.
//!
//! bindgen loads libclang at run time (`runtime` feature): on Debian and
//! Ubuntu that is `apt-get install libclang-dev`; `LIBCLANG_PATH` selects
//! another one. The kernel headers come from `linux-libc-dev`.

use std::{env, error::Error, path::PathBuf};

use bindgen::callbacks::{IntKind, ParseCallbacks};

/// The wrapper header: the two uapi headers, nothing else.
const WRAPPER: &str = "#include <linux/i2c.h>\n#include <linux/i2c-dev.h>\n";

/// The `/dev/i2c-N` ioctl request numbers.
const IOCTL_REQUESTS: &[&str] = &[
    "I2C_RETRIES",
    "I2C_TIMEOUT",
    "I2C_SLAVE",
    "I2C_SLAVE_FORCE",
    "I2C_TENBIT",
    "I2C_FUNCS",
    "I2C_RDWR",
    "I2C_PEC",
    "I2C_SMBUS",
];

/// Gives some macros the type of the field or argument they are used with,
/// so the code using them needs no casts:
/// - ioctl request numbers become `u16`, which widens losslessly to libc's
///   request type on every C library (`c_ulong` on glibc, `c_int` on musl);
/// - `I2C_M_*` become `u16`, the type of `i2c_msg.flags`;
/// - `I2C_SMBUS_READ`/`I2C_SMBUS_WRITE` become `u8`, the type of
///   `i2c_smbus_ioctl_data.read_write`.
///
/// Everything else keeps bindgen's default (`u32`).
#[derive(Debug)]
struct MacroTypes;

impl ParseCallbacks for MacroTypes {
    fn int_macro(&self, name: &str, _value: i64) -> Option<IntKind> {
        if IOCTL_REQUESTS.contains(&name) || name.starts_with("I2C_M_") {
            Some(IntKind::U16)
        } else if name == "I2C_SMBUS_READ" || name == "I2C_SMBUS_WRITE" {
            Some(IntKind::U8)
        } else {
            None
        }
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LIBCLANG_PATH");
    // `src/host/uapi.rs` exists only on Linux; nothing to generate elsewhere.
    if env::var("CARGO_CFG_TARGET_OS")?.as_str() != "linux" {
        return Ok(());
    }
    let out = PathBuf::from(env::var("OUT_DIR")?).join("uapi.rs");
    let bindings = bindgen::Builder::default()
        .header_contents("vi2c-uapi-wrapper.h", WRAPPER)
        .allowlist_type("i2c_msg")
        .allowlist_type("i2c_rdwr_ioctl_data")
        .allowlist_type("i2c_smbus_ioctl_data")
        .allowlist_type("i2c_smbus_data")
        .allowlist_var("I2C_.*")
        // Layout tests are written by hand in src/host/uapi.rs, with the
        // kernel's numbers; the kernel's comments are not rustdoc.
        .layout_tests(false)
        .generate_comments(false)
        .derive_default(false)
        .parse_callbacks(Box::new(MacroTypes))
        // Emits `cargo:rerun-if-changed` for every header included, and
        // `cargo:rerun-if-env-changed` for the variables bindgen reads.
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .map_err(|e| {
            format!(
                "bindgen failed on <linux/i2c.h> and <linux/i2c-dev.h> ({e}); \
                 it needs libclang (apt-get install libclang-dev) and the kernel \
                 headers (linux-libc-dev)"
            )
        })?;
    bindings.write_to_file(&out)?;
    Ok(())
}
