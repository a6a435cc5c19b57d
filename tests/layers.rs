// SPDX-License-Identifier: GPL-2.0-or-later
//! The layers of the crate import only downward, with no circle: every
//! `crate::<layer>` path in a file of one layer names a layer that the
//! table in `src/lib.rs` allows it to import.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

/// Each layer and the layers it may import.
const ALLOWED: &[(&str, &[&str])] = &[
    (
        "ffi",
        &["virtio", "host_i2cdev", "capture", "policy", "host", "i2c"],
    ),
    ("virtio", &["capture", "policy", "host", "i2c"]),
    ("host_i2cdev", &["capture", "policy", "host", "i2c"]),
    ("capture", &["i2c"]),
    ("policy", &["i2c"]),
    ("host", &["i2c"]),
    ("i2c", &[]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The layer a file under `src/` belongs to.
fn layer_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    // A module's tests in a file of their own belong to its layer.
    let name = name.strip_suffix("_tests").unwrap_or(name);
    ALLOWED
        .iter()
        .any(|(l, _)| *l == name)
        .then(|| name.to_owned())
}

/// The layers a file names through `crate::` paths, including those in
/// `use crate::{a::x, b::y}` groups.
fn imported(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            // The top level of the group.
            let mut depth = 0;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => return true,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    false
                })
                .map_or(group.len(), |(i, _)| i);
            let mut top = Vec::new();
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group[..end].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        top.push(group[start..i].trim());
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            top.push(group[start..end].trim());
            top
        } else {
            vec![rest]
        };
        for n in names {
            let ident: String = n
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !ident.is_empty() {
                out.push(ident);
            }
        }
    }
    out
}

#[test]
fn layers_import_only_downward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut bad = Vec::new();
    for f in &files {
        let Some(layer) = layer_of(&src, f) else {
            continue;
        };
        let allowed = ALLOWED.iter().find(|(l, _)| *l == layer).unwrap().1;
        let text = std::fs::read_to_string(f).unwrap();
        for name in imported(&text) {
            let is_layer = ALLOWED.iter().any(|(l, _)| *l == name);
            if is_layer && name != layer && !allowed.contains(&name.as_str()) {
                bad.push(format!("{}: {layer} imports {name}", f.display()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "imports against the layering:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_import_scanner_sees_grouped_paths() {
    let text =
        "use crate::{\n    host::{self, I2cAdapter},\n    i2c::Msg,\n};\nlet x = crate::ffi::y;";
    assert_eq!(imported(text), ["host", "i2c", "ffi"]);
}
