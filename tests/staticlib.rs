// SPDX-License-Identifier: GPL-2.0-or-later
//! The shipped static library exports exactly the C API of the header
//! (`vi2c_*`, nothing else), and a C program links against it alone.
//!
//! The archive is built by `scripts/build-staticlib.sh` (what meson runs),
//! into `target/staticlib-test`, unless `VI2C_STATICLIB` names one already
//! built.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn staticlib() -> PathBuf {
    if let Some(p) = std::env::var_os("VI2C_STATICLIB") {
        return PathBuf::from(p);
    }
    let out = root().join("target/staticlib-test/libvirtio_i2c_rust.a");
    let st = Command::new(root().join("scripts/build-staticlib.sh"))
        .arg("--target-dir")
        .arg(root().join("target/staticlib-test/cargo"))
        .arg(&out)
        .status()
        .expect("run build-staticlib.sh");
    assert!(st.success(), "build-staticlib.sh failed");
    out
}

fn header_functions() -> BTreeSet<String> {
    let h = std::fs::read_to_string(root().join("include/virtio_i2c_rust.h")).unwrap();
    // Function declarations: an identifier `vi2c_...` directly followed by
    // `(` (doc comments name functions without parentheses).
    h.match_indices("vi2c_")
        .filter_map(|(i, _)| {
            let rest = &h[i..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            rest[end..].starts_with('(').then(|| rest[..end].to_owned())
        })
        .collect()
}

#[test]
fn exports_exactly_the_header_functions_and_links_from_c() {
    let lib = staticlib();
    let nm = Command::new("nm")
        .args(["-g", "--defined-only"])
        .arg(&lib)
        .output()
        .expect("run nm");
    assert!(nm.status.success());
    let text = String::from_utf8_lossy(&nm.stdout);
    let exported: BTreeSet<String> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3).then(|| f[2].to_owned())
        })
        .collect();
    let foreign: Vec<&String> = exported
        .iter()
        .filter(|s| !s.starts_with("vi2c_"))
        .collect();
    assert!(
        foreign.is_empty(),
        "symbols other than vi2c_* are global: {foreign:?}"
    );
    assert_eq!(
        exported,
        header_functions(),
        "exports differ from the header's functions"
    );

    let dir = root().join("target/staticlib-test");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("link.c");
    std::fs::write(
        &src,
        "#include \"virtio_i2c_rust.h\"\n#include <stdio.h>\n\
         int main(void) {\n\
             vi2c_adapter *a = NULL;\n\
             if (vi2c_abi_version() != VI2C_ABI_VERSION) return 1;\n\
             if (vi2c_policy_check(\"0x50\", NULL, 0) != VI2C_STATUS_OK) return 2;\n\
             if (vi2c_adapter_open_linux(\"/nonexistent/i2c-0\", NULL, &a, NULL, 0) != VI2C_STATUS_NOT_FOUND) return 3;\n\
             vi2c_adapter_free(a);\n\
             puts(vi2c_status_str(VI2C_STATUS_NACK));\n\
             return 0;\n\
         }\n",
    )
    .unwrap();
    let exe = dir.join("link");
    let cc = Command::new("cc")
        .arg("-I")
        .arg(root().join("include"))
        .arg(&src)
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm", "-lgcc_s", "-o"])
        .arg(&exe)
        .status()
        .expect("run cc");
    assert!(
        cc.success(),
        "linking a C program against the archive failed"
    );
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success());
    assert_eq!(String::from_utf8_lossy(&run.stdout), "no acknowledge\n");
}

/// Every COMDAT group of the archive has a name of its own (`vi2c.`): the
/// linker merges groups by name, local symbols or not, so a group named
/// like one of another Rust archive's std (`DW.ref.rust_eh_personality`,
/// as in a QEMU built with `--enable-rust`) would be dropped for the other
/// one, and the library's unwind tables would point at garbage: its first
/// panic would crash instead of being caught at the C API.
#[test]
fn comdat_groups_have_names_of_their_own() {
    let lib = staticlib();
    let out = Command::new("readelf")
        .arg("-gW")
        .arg(&lib)
        .env("LC_ALL", "C")
        .output()
        .expect("run readelf");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let groups: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("COMDAT group section"))
        .collect();
    assert!(
        groups
            .iter()
            .any(|l| l.contains("[vi2c.DW.ref.rust_eh_personality]")),
        "no renamed personality group: {groups:?}"
    );
    let foreign: Vec<&&str> = groups.iter().filter(|l| !l.contains("[vi2c.")).collect();
    assert!(foreign.is_empty(), "groups with foreign names: {foreign:?}");
}
