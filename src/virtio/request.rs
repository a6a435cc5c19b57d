// SPDX-License-Identifier: GPL-2.0-or-later
//! Parsing one virtio-i2c request.
//!
//! ```text
//! struct virtio_i2c_req {
//!     struct virtio_i2c_out_hdr out_hdr;  // device-readable: le16 addr, le16 padding, le32 flags
//!     u8 buf[];                           // optional: device-readable for a write,
//!                                         //           device-writable for a read
//!     struct virtio_i2c_in_hdr in_hdr;    // device-writable: u8 status
//! };
//! ```
//!
//! The header is copied out of guest memory once and only the copy is
//! checked (no double fetch). Every check cites the rule it enforces
//! (virtio 1.2 §5.16.6 "Device Operation"); each failure is a
//! [`RequestError`] and gives the request `VIRTIO_I2C_MSG_ERR`.

use super::{
    sg::{Sg, SgError},
    Protocol, OUT_HDR_LEN, VIRTIO_I2C_FLAGS_FAIL_NEXT, VIRTIO_I2C_FLAGS_M_RD,
};
use crate::i2c::{check_msg_len, Address, Msg, MAX_MSG_LEN};

/// A valid request: one I2C message to the guest address it names (a
/// write carries a copy of its data; guest memory is not referenced).
pub type Request = Msg;

/// Why a request is malformed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No device-writable byte: not even the status can be written.
    #[error("request has no device-writable status byte")]
    NoStatusByte,
    /// The device-readable part is shorter than `struct virtio_i2c_out_hdr`.
    #[error("device-readable part of {len} bytes is shorter than the 8-byte header")]
    HeaderTooShort {
        /// Its length.
        len: usize,
    },
    /// Reserved flag bits set ("the driver MUST set reserved bits of flags
    /// to zero").
    #[error("reserved flag bits set in {flags:#010x}")]
    ReservedFlags {
        /// The flags.
        flags: u32,
    },
    /// An address that is neither 7-bit (`A6..A0 << 1`) nor 10-bit
    /// (`A7..A0 << 8 | 0b11110 << 3 | A9..A8 << 1`) encoded.
    #[error("address field {raw:#06x} is neither a 7-bit nor a 10-bit encoding")]
    BadAddress {
        /// The raw `addr` field.
        raw: u16,
    },
    /// A read (`M_RD` set) that also has device-readable data.
    #[error("read request carries {len} bytes of device-readable data")]
    ReadWithWriteBuffer {
        /// Bytes after the header.
        len: usize,
    },
    /// A write (`M_RD` clear) that has a device-writable buffer before the
    /// status byte.
    #[error("write request has a {len}-byte device-writable buffer")]
    WriteWithReadBuffer {
        /// Bytes before the status byte.
        len: usize,
    },
    /// A zero-length request from a driver that did not negotiate
    /// `VIRTIO_I2C_F_ZERO_LENGTH_REQUEST`: its protocol has none, and the
    /// direction of an empty message cannot be told.
    #[error("zero-length request from a driver that did not negotiate VIRTIO_I2C_F_ZERO_LENGTH_REQUEST")]
    ZeroLengthNotNegotiated,
    /// A request from a driver whose features the device refused.
    #[error("request from a driver whose features the device refused")]
    DriverRefused,
    /// A request with data in both directions.
    #[error("request carries {out} bytes of device-readable and {input} of device-writable data")]
    BothDirections {
        /// Device-readable data bytes.
        out: usize,
        /// Device-writable data bytes (before the status).
        input: usize,
    },
    /// A buffer longer than one message may be.
    #[error("buffer of {len} bytes exceeds {MAX_MSG_LEN}")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// Guest memory could not be read.
    #[error("guest memory access failed")]
    Memory(#[source] SgError),
}

/// A parsed request, valid or not, with what grouping and completion need
/// either way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// `VIRTIO_I2C_FLAGS_FAIL_NEXT` (false when the header was unreadable).
    pub fail_next: bool,
    /// Length of the device-writable part (data + status byte).
    pub in_len: usize,
    /// The request, or why it is malformed.
    pub request: Result<Request, RequestError>,
}

/// Decodes the `addr` field.
///
/// "For 7-bit addresses, bits 7..1 hold A6..A0 and bit 0 is zero; for 10-bit
/// addresses, bits 15..8 hold A7..A0, bits 7..3 are 11110, bits 2..1 hold
/// A9..A8 and bit 0 is zero." The 7-bit addresses 0x78-0x7b, whose encoding
/// has the same 11110 prefix, are reserved by the I2C specification for
/// exactly this 10-bit prefix, so the decoding is unambiguous.
pub fn decode_address(raw: u16) -> Result<Address, RequestError> {
    let bad = RequestError::BadAddress { raw };
    if raw & 1 != 0 {
        return Err(bad);
    }
    let low = raw & 0xff;
    if low & 0xf8 == 0xf0 {
        let hi = (low >> 1) & 0x3;
        return Address::ten((hi << 8) | (raw >> 8)).ok_or(bad);
    }
    if raw > 0xff {
        return Err(bad);
    }
    u8::try_from(raw >> 1)
        .ok()
        .and_then(Address::seven)
        .ok_or(bad)
}

/// Encodes an address as the driver would (for tests and fuzzing).
#[cfg(any(test, feature = "test-utils"))]
pub fn encode_address(addr: Address) -> u16 {
    let a = addr.value();
    if addr.is_ten_bit() {
        ((a & 0xff) << 8) | 0xf0 | ((a >> 8) << 1)
    } else {
        a << 1
    }
}

/// Parses one request from its device-readable part `out` and the length of
/// its device-writable part, in the protocol the driver speaks.
pub fn parse(out: &Sg<'_, '_>, in_len: usize, protocol: Protocol) -> Parsed {
    let mut fail_next = false;
    let request = parse_inner(out, in_len, protocol, &mut fail_next);
    Parsed {
        fail_next,
        in_len,
        request,
    }
}

fn parse_inner(
    out: &Sg<'_, '_>,
    in_len: usize,
    protocol: Protocol,
    fail_next: &mut bool,
) -> Result<Request, RequestError> {
    let out_len = out.len();
    if out_len < OUT_HDR_LEN {
        return Err(RequestError::HeaderTooShort { len: out_len });
    }
    // One copy of the header; only the copy is looked at from here on.
    let mut hdr = [0u8; OUT_HDR_LEN];
    out.read(0, &mut hdr).map_err(RequestError::Memory)?;
    let [a0, a1, _, _, f0, f1, f2, f3] = hdr;
    let raw = u16::from_le_bytes([a0, a1]);
    let flags = u32::from_le_bytes([f0, f1, f2, f3]);
    *fail_next = flags & VIRTIO_I2C_FLAGS_FAIL_NEXT != 0;

    // "The in_hdr is fixed size and is the last device-writable part":
    // without it there is nowhere to put a status.
    if in_len == 0 {
        return Err(RequestError::NoStatusByte);
    }
    // Reserved bits of flags: the driver MUST zero them; the device refuses
    // requests that do not, rather than guess their meaning.
    if flags & !(VIRTIO_I2C_FLAGS_FAIL_NEXT | VIRTIO_I2C_FLAGS_M_RD) != 0 {
        return Err(RequestError::ReservedFlags { flags });
    }
    let addr = decode_address(raw)?;
    let data_out = out_len - OUT_HDR_LEN;
    let data_in = in_len - 1;
    let m_rd = flags & VIRTIO_I2C_FLAGS_M_RD != 0;
    // The protocol as first merged: the buffers give the direction; an
    // M_RD that is set (Zephyr sets it) must agree with them.
    let read = match protocol {
        Protocol::Refused => return Err(RequestError::DriverRefused),
        Protocol::Current => m_rd,
        Protocol::Legacy => match (data_out, data_in) {
            (0, 0) => return Err(RequestError::ZeroLengthNotNegotiated),
            (0, _) => true,
            (_, 0) => m_rd,
            (out, input) => return Err(RequestError::BothDirections { out, input }),
        },
    };
    // "VIRTIO_I2C_FLAGS_M_RD ... MUST be set for a read and its buf is
    // device-writable; clear for a write, buf device-readable." A buffer in
    // the other direction is a malformed request.
    let too_long = |len| RequestError::TooLong { len };
    if read {
        if data_out != 0 {
            return Err(RequestError::ReadWithWriteBuffer { len: data_out });
        }
        Msg::read(addr, data_in).map_err(|_| too_long(data_in))
    } else {
        if data_in != 0 {
            return Err(RequestError::WriteWithReadBuffer { len: data_in });
        }
        // Refused before anything is allocated or copied.
        check_msg_len(data_out).map_err(|_| too_long(data_out))?;
        let mut msg = Msg::zeroed(addr, false, data_out).map_err(|_| too_long(data_out))?;
        out.read(OUT_HDR_LEN, msg.data_mut())
            .map_err(RequestError::Memory)?;
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use vm_memory::VolatileSlice;

    use super::*;

    fn hdr(addr: u16, flags: u32) -> Vec<u8> {
        let mut v = addr.to_le_bytes().to_vec();
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&flags.to_le_bytes());
        v
    }

    fn s(a: u8) -> Address {
        Address::seven(a).unwrap()
    }
    fn t(a: u16) -> Address {
        Address::ten(a).unwrap()
    }
    fn write(a: u8, d: &[u8]) -> Request {
        Msg::write(s(a), d.to_vec()).unwrap()
    }
    fn read(a: u8, n: usize) -> Request {
        Msg::read(s(a), n).unwrap()
    }

    fn parse_bytes(out: &[u8], in_len: usize) -> Parsed {
        parse_as(Protocol::Current, out, in_len)
    }

    fn parse_as(protocol: Protocol, out: &[u8], in_len: usize) -> Parsed {
        let mut o = out.to_vec();
        let s = [VolatileSlice::from(&mut o[..])];
        parse(&Sg::new(&s), in_len, protocol)
    }

    #[test]
    fn the_legacy_protocol_takes_the_direction_from_the_buffers() {
        let legacy = |out: &[u8], in_len| parse_as(Protocol::Legacy, out, in_len).request;
        // Linux 5.15: no M_RD; a device-writable buffer is a read.
        assert_eq!(legacy(&hdr(0x50 << 1, 0), 3), Ok(read(0x50, 2)));
        let mut w = hdr(0x50 << 1, VIRTIO_I2C_FLAGS_FAIL_NEXT);
        w.push(0x10);
        assert_eq!(legacy(&w, 1), Ok(write(0x50, &[0x10])));
        // Zephyr: M_RD set, in agreement with the buffers.
        assert_eq!(legacy(&hdr(0x50 << 1, VIRTIO_I2C_FLAGS_M_RD), 2), Ok(read(0x50, 1)));
        // M_RD against the buffers, data both ways, no data at all.
        let mut rw = hdr(0x50 << 1, VIRTIO_I2C_FLAGS_M_RD);
        rw.push(1);
        assert_eq!(legacy(&rw, 1), Err(RequestError::ReadWithWriteBuffer { len: 1 }));
        assert_eq!(legacy(&w, 2), Err(RequestError::BothDirections { out: 1, input: 1 }));
        assert_eq!(legacy(&hdr(0x50 << 1, 0), 1), Err(RequestError::ZeroLengthNotNegotiated));
        assert_eq!(
            legacy(&hdr(0x50 << 1, VIRTIO_I2C_FLAGS_M_RD), 1),
            Err(RequestError::ZeroLengthNotNegotiated)
        );
        // A refused driver: every request fails, its FAIL_NEXT still read
        // (the group it ends is completed as a whole).
        let refused = parse_as(
            Protocol::Refused,
            &hdr(0x50 << 1, VIRTIO_I2C_FLAGS_M_RD | VIRTIO_I2C_FLAGS_FAIL_NEXT),
            2,
        );
        assert_eq!(refused.request, Err(RequestError::DriverRefused));
        assert!(refused.fail_next);
        // The current protocol keeps its rules: no M_RD is a write.
        assert_eq!(
            parse_bytes(&hdr(0x50 << 1, 0), 3).request,
            Err(RequestError::WriteWithReadBuffer { len: 2 })
        );
    }

    #[test]
    fn address_encodings() {
        assert_eq!(decode_address(0x50 << 1), Ok(s(0x50)));
        assert_eq!(decode_address(0), Ok(s(0)));
        assert_eq!(decode_address(0x7f << 1), Ok(s(0x7f)));
        // 0x78-0x7b share the 10-bit prefix 11110 and decode as 10-bit.
        assert_eq!(decode_address(0x7b << 1), Ok(t(0x300)));
        for a in [0u16, 0x001, 0x0ff, 0x100, 0x2a5, 0x3ff] {
            assert_eq!(decode_address(encode_address(t(a))), Ok(t(a)));
        }
        for a in 0u8..0x78 {
            assert_eq!(decode_address(encode_address(s(a))), Ok(s(a)));
        }
        assert_eq!(
            decode_address(0xa1),
            Err(RequestError::BadAddress { raw: 0xa1 })
        );
        assert_eq!(
            decode_address(0x1a0),
            Err(RequestError::BadAddress { raw: 0x1a0 })
        );
        assert_eq!(
            decode_address(0x01f8),
            Err(RequestError::BadAddress { raw: 0x01f8 })
        );
    }

    #[test]
    fn write_read_and_zero_length() {
        let mut w = hdr(0x50 << 1, VIRTIO_I2C_FLAGS_FAIL_NEXT);
        w.extend_from_slice(&[0x10, 0x20]);
        let p = parse_bytes(&w, 1);
        assert!(p.fail_next);
        assert_eq!(p.request, Ok(write(0x50, &[0x10, 0x20])));
        let r = parse_bytes(&hdr(0x48 << 1, VIRTIO_I2C_FLAGS_M_RD), 3);
        assert!(!r.fail_next);
        assert_eq!(r.request, Ok(read(0x48, 2)));
        assert_eq!(
            parse_bytes(&hdr(0x48 << 1, 0), 1).request,
            Ok(write(0x48, &[]))
        );
        assert_eq!(
            parse_bytes(&hdr(0x48 << 1, VIRTIO_I2C_FLAGS_M_RD), 1).request,
            Ok(read(0x48, 0))
        );
    }

    #[test]
    fn malformed_requests() {
        let e = |out: &[u8], in_len| parse_bytes(out, in_len).request.unwrap_err();
        assert_eq!(e(&[0; 7], 1), RequestError::HeaderTooShort { len: 7 });
        assert_eq!(e(&hdr(0xa0, 0), 0), RequestError::NoStatusByte);
        assert_eq!(
            e(&hdr(0xa0, 4), 1),
            RequestError::ReservedFlags { flags: 4 }
        );
        assert_eq!(
            e(&hdr(0xa0, 0x8000_0002), 1),
            RequestError::ReservedFlags { flags: 0x8000_0002 }
        );
        assert_eq!(e(&hdr(0xa1, 0), 1), RequestError::BadAddress { raw: 0xa1 });
        let mut rw = hdr(0xa0, VIRTIO_I2C_FLAGS_M_RD);
        rw.push(1);
        assert_eq!(e(&rw, 2), RequestError::ReadWithWriteBuffer { len: 1 });
        assert_eq!(
            e(&hdr(0xa0, 0), 5),
            RequestError::WriteWithReadBuffer { len: 4 }
        );
        assert_eq!(
            e(&hdr(0xa0, VIRTIO_I2C_FLAGS_M_RD), MAX_MSG_LEN + 2),
            RequestError::TooLong {
                len: MAX_MSG_LEN + 1
            }
        );
        let mut big = hdr(0xa0, 0);
        big.resize(OUT_HDR_LEN + MAX_MSG_LEN + 1, 0);
        assert_eq!(
            e(&big, 1),
            RequestError::TooLong {
                len: MAX_MSG_LEN + 1
            }
        );
        // FAIL_NEXT is still known when a later check fails.
        assert!(parse_bytes(&hdr(0xa1, 1), 1).fail_next);
    }

    #[test]
    fn header_split_across_buffers() {
        let mut h = hdr(0x50 << 1, VIRTIO_I2C_FLAGS_FAIL_NEXT);
        h.push(0x42);
        let (mut a, mut b) = (h[..3].to_vec(), h[3..].to_vec());
        let s = [
            VolatileSlice::from(&mut a[..]),
            VolatileSlice::from(&mut b[..]),
        ];
        let p = parse(&Sg::new(&s), 1, Protocol::Current);
        assert_eq!(p.request, Ok(write(0x50, &[0x42])));
        assert!(p.fail_next);
    }
}
