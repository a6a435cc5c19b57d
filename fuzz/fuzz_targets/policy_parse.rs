// SPDX-License-Identifier: GPL-2.0-or-later
//! The address policy parser on arbitrary strings: no panic, and an
//! accepted policy maps only non-reserved addresses, injectively.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use virtio_i2c_rust::{i2c::Address, policy::Policy};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = Policy::parse(s) {
        let hosts = p.host_addresses();
        let unique: BTreeSet<_> = hosts.iter().collect();
        assert_eq!(unique.len(), hosts.len());
        for a in 0..=0x7fu8 {
            let g = Address::seven(a).unwrap();
            if let Some(h) = p.map(g) {
                assert!(!g.is_reserved() && !h.is_reserved());
            }
        }
    }
});
