// SPDX-License-Identifier: GPL-2.0-or-later
//! Finding an adapter: `/sys/bus/i2c/devices` lists the adapters with
//! their names, `/dev/i2c-N` are their nodes.

use std::{
    io,
    path::{Path, PathBuf},
};

use crate::host::HostError;

/// Where the kernel lists I2C adapters (`i2c-N`) and clients (`N-00aa`).
pub const SYSFS_I2C_DEVICES: &str = "/sys/bus/i2c/devices";

/// Where the i2c-dev nodes (`i2c-N`) are.
pub const DEV_ROOT: &str = "/dev";

/// The adapters in `sysfs` (normally [`SYSFS_I2C_DEVICES`]): each `i2c-N`
/// entry with the contents of its `name` file (trailing newline removed),
/// sorted by number. Client entries (`N-00aa`) and entries whose name
/// cannot be read are left out.
///
/// # Errors
/// When `sysfs` cannot be listed.
pub fn adapters(sysfs: &Path) -> io::Result<Vec<(u32, String)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(sysfs)? {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(nr) = file_name
            .to_str()
            .and_then(|f| f.strip_prefix("i2c-"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Ok(name) = std::fs::read_to_string(entry.path().join("name")) {
            let name = name.strip_suffix('\n').unwrap_or(&name);
            out.push((nr, name.to_owned()));
        }
    }
    out.sort();
    Ok(out)
}

/// The device node `host` names, with the sysfs and /dev roots given (the
/// real ones are [`SYSFS_I2C_DEVICES`] and [`DEV_ROOT`]):
/// - anything with a `/` is a path, taken as it is;
/// - a decimal number N is `<dev>/i2c-N`;
/// - anything else is an adapter name, matched exactly against the `name`
///   of each `<sysfs>/i2c-N`.
///
/// Whether the node exists is left to the open.
///
/// # Errors
/// [`HostError::NotFound`] for an empty `host`, a number out of range, a
/// name no adapter has (the message lists the adapters there are), or one
/// that several adapters have (the message names their numbers).
pub fn resolve(host: &str, sysfs: &Path, dev: &Path) -> Result<PathBuf, HostError> {
    if host.is_empty() {
        return Err(HostError::NotFound("empty I2C adapter name".to_owned()));
    }
    if host.contains('/') {
        return Ok(PathBuf::from(host));
    }
    if host.bytes().all(|b| b.is_ascii_digit()) {
        return host
            .parse::<u32>()
            .map(|nr| dev.join(format!("i2c-{nr}")))
            .map_err(|_| HostError::NotFound(format!("no I2C adapter number {host}")));
    }
    let all = adapters(sysfs).map_err(|e| {
        HostError::NotFound(format!(
            "no I2C adapter named \"{host}\": cannot list {}: {e}",
            sysfs.display()
        ))
    })?;
    let matching: Vec<u32> = all
        .iter()
        .filter(|(_, name)| name == host)
        .map(|(nr, _)| *nr)
        .collect();
    match matching.as_slice() {
        [nr] => Ok(dev.join(format!("i2c-{nr}"))),
        [] if all.is_empty() => Err(HostError::NotFound(format!(
            "no I2C adapter named \"{host}\": there are no I2C adapters in {}",
            sysfs.display()
        ))),
        [] => {
            let list: Vec<String> = all
                .iter()
                .map(|(nr, name)| format!("{nr} \"{name}\""))
                .collect();
            Err(HostError::NotFound(format!(
                "no I2C adapter named \"{host}\"; the adapters are (number \"name\"): {}",
                list.join(", ")
            )))
        }
        several => {
            let list: Vec<String> = several.iter().map(u32::to_string).collect();
            Err(HostError::NotFound(format!(
                "I2C adapter name \"{host}\" is ambiguous: adapters {} all have it; \
                 give the number or /dev path instead",
                list.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::linux::tests::{fake_tree, TempDir};

    // ---- host resolution ----

    #[test]
    fn resolve_takes_paths_as_they_are() {
        let (_t, sys, dev) = fake_tree();
        for p in ["/dev/i2c-3", "./i2c-1", "/dev/i2c/by-name/eeprom"] {
            assert_eq!(resolve(p, &sys, &dev), Ok(PathBuf::from(p)));
        }
    }

    #[test]
    fn resolve_maps_numbers_to_dev_nodes() {
        let (_t, sys, dev) = fake_tree();
        assert_eq!(resolve("3", &sys, &dev), Ok(dev.join("i2c-3")));
        assert_eq!(resolve("0", &sys, &dev), Ok(dev.join("i2c-0")));
        assert_eq!(resolve("012", &sys, &dev), Ok(dev.join("i2c-12")));
        assert_eq!(
            resolve("99999999999", &sys, &dev),
            Err(HostError::NotFound(
                "no I2C adapter number 99999999999".to_owned()
            ))
        );
    }

    #[test]
    fn resolve_matches_names_exactly() {
        let (_t, sys, dev) = fake_tree();
        assert_eq!(
            resolve("SMBus I801 adapter at f000", &sys, &dev),
            Ok(dev.join("i2c-0"))
        );
        assert_eq!(resolve("i2c-virtio", &sys, &dev), Ok(dev.join("i2c-1")));
        let listing = "the adapters are (number \"name\"): 0 \"SMBus I801 adapter at f000\", \
                       1 \"i2c-virtio\", 2 \"DPDDC-D\", 5 \"DPDDC-D\"";
        // Prefixes, other case, the newline itself, client names: no match.
        for host in ["SMBus I801", "i2c-VIRTIO", "i2c-virtio\n", "24c02"] {
            assert_eq!(
                resolve(host, &sys, &dev),
                Err(HostError::NotFound(format!(
                    "no I2C adapter named \"{host}\"; {listing}"
                ))),
                "{host:?}"
            );
        }
    }

    #[test]
    fn resolve_refuses_ambiguous_names() {
        let (_t, sys, dev) = fake_tree();
        assert_eq!(
            resolve("DPDDC-D", &sys, &dev),
            Err(HostError::NotFound(
                "I2C adapter name \"DPDDC-D\" is ambiguous: adapters 2, 5 all have it; \
                 give the number or /dev path instead"
                    .to_owned()
            ))
        );
    }

    #[test]
    fn resolve_reports_empty_and_missing_sysfs() {
        let t = TempDir::new("nosys");
        let empty = t.0.join("empty");
        std::fs::create_dir_all(&empty).expect("mkdir");
        let missing = t.0.join("missing");
        assert_eq!(
            resolve("x", &empty, &t.0),
            Err(HostError::NotFound(format!(
                "no I2C adapter named \"x\": there are no I2C adapters in {}",
                empty.display()
            )))
        );
        assert_eq!(
            resolve("x", &missing, &t.0),
            Err(HostError::NotFound(format!(
                "no I2C adapter named \"x\": cannot list {}: {}",
                missing.display(),
                io::Error::from_raw_os_error(libc::ENOENT)
            )))
        );
        assert_eq!(
            resolve("", &missing, &t.0),
            Err(HostError::NotFound("empty I2C adapter name".to_owned()))
        );
    }

    #[test]
    fn adapters_lists_only_adapters_in_number_order() {
        let (_t, sys, _dev) = fake_tree();
        std::fs::create_dir_all(sys.join("i2c-10")).expect("mkdir");
        std::fs::write(sys.join("i2c-10").join("name"), "no newline").expect("write");
        std::fs::create_dir_all(sys.join("i2c-11")).expect("mkdir"); // no name file
        assert_eq!(
            adapters(&sys).expect("list"),
            vec![
                (0, "SMBus I801 adapter at f000".to_owned()),
                (1, "i2c-virtio".to_owned()),
                (2, "DPDDC-D".to_owned()),
                (5, "DPDDC-D".to_owned()),
                (10, "no newline".to_owned()),
            ]
        );
    }
}
