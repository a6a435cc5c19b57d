// SPDX-License-Identifier: GPL-2.0-or-later
//! Request parsing on arbitrary device-readable bytes, split arbitrarily
//! over buffers, with an arbitrary device-writable length, in both
//! protocols (with and without VIRTIO_I2C_F_ZERO_LENGTH_REQUEST).
#![no_main]

use libfuzzer_sys::fuzz_target;
use virtio_i2c_rust::virtio::{request, sg::Sg, Protocol, OUT_HDR_LEN};
use vm_memory::VolatileSlice;

fuzz_target!(|data: &[u8]| {
    let [split, in_lo, in_hi, rest @ ..] = data else {
        return;
    };
    let in_len = usize::from(u16::from_le_bytes([*in_lo, *in_hi]));
    let mut bytes = rest.to_vec();
    let cut = usize::from(*split).min(bytes.len());
    let (a, b) = bytes.split_at_mut(cut);
    let slices = [VolatileSlice::from(a), VolatileSlice::from(b)];
    // The high bit of the length picks the protocol.
    let legacy = in_hi & 0x80 != 0;
    let in_len = in_len & 0x7fff;
    let protocol = if legacy {
        Protocol::Legacy
    } else {
        Protocol::Current
    };
    let p = request::parse(&Sg::new(&slices), in_len, protocol);
    assert_eq!(p.in_len, in_len);
    if let Ok(r) = p.request {
        assert!(in_len >= 1);
        if r.is_read() {
            assert_eq!(r.len(), in_len - 1);
            assert_eq!(rest.len(), OUT_HDR_LEN);
        } else {
            assert_eq!(in_len, 1);
            assert_eq!(r.data(), &rest[OUT_HDR_LEN..]);
        }
        // The protocol as first merged has no zero-length requests.
        assert!(!(legacy && r.is_empty()));
        let enc = request::encode_address(r.addr());
        assert_eq!(request::decode_address(enc), Ok(r.addr()));
    }
});
