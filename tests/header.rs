// SPDX-License-Identifier: GPL-2.0-or-later
//! The checked-in C header matches the sources, and its version macros
//! match Cargo.toml and the library's runtime version.

use std::path::Path;

const HEADER: &str = "include/virtio_i2c_rust.h";

fn version_macros() -> String {
    format!(
        "\n/* ABI version: that of the crate, {v}. */\n\
         #define VI2C_ABI_VERSION_MAJOR {ma}\n\
         #define VI2C_ABI_VERSION_MINOR {mi}\n\
         #define VI2C_ABI_VERSION_PATCH {pa}\n\
         #define VI2C_ABI_VERSION ((VI2C_ABI_VERSION_MAJOR << 16) | (VI2C_ABI_VERSION_MINOR << 8) | VI2C_ABI_VERSION_PATCH)\n",
        v = env!("CARGO_PKG_VERSION"),
        ma = env!("CARGO_PKG_VERSION_MAJOR"),
        mi = env!("CARGO_PKG_VERSION_MINOR"),
        pa = env!("CARGO_PKG_VERSION_PATCH"),
    )
}

fn generate() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config =
        cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    config.after_includes = Some(version_macros());
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen failed")
        .write(&mut out);
    String::from_utf8(out).expect("header is UTF-8")
}

#[test]
fn header_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(HEADER);
    let fresh = generate();
    if std::env::var_os("VI2C_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write header");
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == fresh,
        "{HEADER} is stale: run `VI2C_BLESS=1 cargo test --test header` and commit it"
    );
}

fn macro_value(header: &str, name: &str) -> u32 {
    header
        .lines()
        .find_map(|l| l.strip_prefix(&format!("#define {name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from the header"))
}

#[test]
fn version_macros_match_runtime_and_cargo() {
    let h = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(HEADER)).unwrap();
    let (ma, mi, pa) = (
        macro_value(&h, "VI2C_ABI_VERSION_MAJOR"),
        macro_value(&h, "VI2C_ABI_VERSION_MINOR"),
        macro_value(&h, "VI2C_ABI_VERSION_PATCH"),
    );
    assert_eq!(format!("{ma}.{mi}.{pa}"), env!("CARGO_PKG_VERSION"));
    // The combined macro, evaluated as C would.
    assert_eq!(
        (ma << 16) | (mi << 8) | pa,
        virtio_i2c_rust::ffi::vi2c_abi_version()
    );
    assert!(h.contains(
        "#define VI2C_ABI_VERSION ((VI2C_ABI_VERSION_MAJOR << 16) | (VI2C_ABI_VERSION_MINOR << 8) | VI2C_ABI_VERSION_PATCH)"
    ));
}
