// SPDX-License-Identifier: GPL-2.0-or-later
//! SMBus translation of arbitrary message groups under arbitrary
//! functionality bits: a translation is always wire-identical to the group
//! and needs only bits the adapter has.
#![no_main]

use libfuzzer_sys::fuzz_target;
use virtio_i2c_rust::{
    host::smbus,
    i2c::{Address, Funcs, Msg},
};

fuzz_target!(|data: &[u8]| {
    let [f0, f1, f2, f3, rest @ ..] = data else {
        return;
    };
    let funcs = Funcs(u64::from(u32::from_le_bytes([*f0, *f1, *f2, *f3])));
    let mut msgs = Vec::new();
    let mut it = rest.iter();
    while let (Some(&hdr), Some(&len)) = (it.next(), it.next()) {
        let addr = if hdr & 0x40 != 0 {
            Address::ten(u16::from(hdr & 0x3f)).unwrap()
        } else {
            Address::seven(0x50 + (hdr & 1)).unwrap()
        };
        let len = usize::from(len % 40);
        let m = if hdr & 0x80 != 0 {
            Msg::read(addr, len)
        } else {
            Msg::write(addr, it.by_ref().take(len).copied().collect())
        }
        .unwrap();
        msgs.push(m);
        if msgs.len() > 4 {
            break;
        }
    }
    if let Ok((addr, x)) = smbus::translate(&msgs, funcs) {
        assert!(funcs.has(x.required_func()));
        let wire = smbus::to_msgs(addr, &x).unwrap();
        let wire = wire.msgs();
        assert_eq!(wire.len(), msgs.len());
        for (w, m) in wire.iter().zip(&msgs) {
            assert_eq!(
                (w.addr(), w.is_read(), w.len()),
                (m.addr(), m.is_read(), m.len())
            );
            if !m.is_read() {
                assert_eq!(w.data(), m.data(), "write bytes differ on the wire");
            }
        }
        let mut back = msgs.clone();
        smbus::scatter(&x, &mut back);
    }
});
