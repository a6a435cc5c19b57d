// SPDX-License-Identifier: GPL-2.0-or-later
//! Compiles the C tests against the checked-in header.

fn main() {
    let files = [
        "c/helpers.c",
        "c/test_device.c",
        "c/test_host_i2cdev.c",
        "c/test_misc.c",
    ];
    for f in files
        .iter()
        .chain(["c/vi2c_ctest.h", "../../include/virtio_i2c_rust.h"].iter())
    {
        println!("cargo:rerun-if-changed={f}");
    }
    cc::Build::new()
        .files(files)
        .include("../../include")
        .include("c")
        .std("c11")
        .define("_GNU_SOURCE", None)
        .flag("-Wall")
        .flag("-Wextra")
        .flag("-Werror")
        .flag("-Wstrict-prototypes")
        .flag("-Wmissing-prototypes")
        .cargo_metadata(false)
        .compile("vi2c_ctests");
    println!(
        "cargo:rustc-link-search=native={}",
        std::env::var("OUT_DIR").unwrap_or_default()
    );
    println!("cargo:rustc-link-lib=pthread");
}
