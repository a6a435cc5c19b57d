// SPDX-License-Identifier: GPL-2.0-or-later
//! The pcapng encoding of the capture's records (see the parent module for
//! the format).
//!
//! # Source
//! "PCAP Next Generation (pcapng) Capture File Format"
//! (draft-ietf-opsawg-pcapng): blocks are `type, total length, body,
//! total length`, 32-bit aligned; options are `code, length, value`
//! padded to 32 bits and ended by `opt_endofopt`.

use super::{Record, Status, EVENT_BIT, FLAG_RD, FLAG_TEN, LINKTYPE_I2C_LINUX, MAX_COMMENT};
use crate::i2c::Address;

/// pcapng block types and option codes.
const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const OPT_END: u16 = 0;
pub(super) const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;

/// Appends a block: type, total length, `body`, total length.
pub(super) fn block(out: &mut Vec<u8>, kind: u32, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    body(out);
    pad4(out);
    let total = u32::try_from(out.len() - start + 4).unwrap_or(u32::MAX);
    out.extend_from_slice(&total.to_le_bytes());
    if let Some(len) = out.get_mut(start + 4..start + 8) {
        len.copy_from_slice(&total.to_le_bytes());
    }
}

fn pad4(out: &mut Vec<u8>) {
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

/// Appends an option (code, length, value padded to 4 bytes).
fn option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(value.get(..usize::from(len)).unwrap_or(value));
    pad4(out);
}

/// The file header: the section header and the one interface.
pub(super) fn header(out: &mut Vec<u8>) {
    block(out, SHB, |b| {
        b.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        // Section length: not given.
        b.extend_from_slice(&(-1i64).to_le_bytes());
        let appl = concat!("virtio-i2c-rust ", env!("CARGO_PKG_VERSION"));
        option(b, SHB_USERAPPL, appl.as_bytes());
        option(b, OPT_END, &[]);
    });
    block(out, IDB, |b| {
        b.extend_from_slice(&LINKTYPE_I2C_LINUX.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        // Snap length: none.
        b.extend_from_slice(&0u32.to_le_bytes());
        option(b, IF_NAME, b"virtio-i2c-rust");
        // Timestamps in nanoseconds.
        option(b, IF_TSRESOL, &[9]);
        option(b, OPT_END, &[]);
    });
}

/// Appends one Enhanced Packet Block: `packet`, stamped `ts`, commented.
fn packet_block(out: &mut Vec<u8>, ts: u64, packet: &[u8], comment: &str) {
    block(out, EPB, |b| {
        let len = u32::try_from(packet.len()).unwrap_or(u32::MAX);
        b.extend_from_slice(&0u32.to_le_bytes());
        // The 64-bit timestamp, high word first.
        b.extend_from_slice(&u32::try_from(ts >> 32).unwrap_or(0).to_le_bytes());
        b.extend_from_slice(&u32::try_from(ts & 0xffff_ffff).unwrap_or(0).to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(packet);
        pad4(b);
        if !comment.is_empty() {
            let mut end = comment.len().min(MAX_COMMENT);
            while !comment.is_char_boundary(end) {
                end -= 1;
            }
            option(b, OPT_COMMENT, comment.get(..end).unwrap_or_default().as_bytes());
            option(b, OPT_END, &[]);
        }
    });
}

/// Appends the pseudo-header: bus (with the event bit) and flags.
fn pseudo_header(out: &mut Vec<u8>, bus: u8, event: bool, flags: u32) {
    out.push(bus | if event { EVENT_BIT } else { 0 });
    out.extend_from_slice(&flags.to_be_bytes());
}

/// The packet data of one message: pseudo-header, address byte(s), data.
pub(super) fn message_packet(
    out: &mut Vec<u8>,
    bus: u8,
    addr: Address,
    read: bool,
    data: &[u8],
    status: Status<'_>,
) {
    let rd = u8::from(read);
    let [hi, lo] = addr.value().to_be_bytes();
    let mut flags = status.flag();
    if read {
        flags |= FLAG_RD;
    }
    if addr.is_ten_bit() {
        flags |= FLAG_TEN;
    }
    pseudo_header(out, bus, false, flags);
    if addr.is_ten_bit() {
        // The two address bytes on the wire: 11110, A9-A8, R/W; A7-A0.
        out.push(0xf0 | ((hi & 0x3) << 1) | rd);
        out.push(lo);
    } else {
        out.push((lo << 1) | rd);
    }
    out.extend_from_slice(data);
}

fn comment_of(comment: &mut String, status: Status<'_>, host: Option<Address>) {
    use std::fmt::Write as _;
    comment.clear();
    status.write_text(comment);
    if let Some(h) = host {
        let _ = write!(comment, " (host address {h})");
    }
}

pub(super) fn encode_record(out: &mut Vec<u8>, comment: &mut String, bus: u8, ts: u64, r: &Record<'_>) {
    match *r {
        Record::Msg {
            addr,
            read,
            data,
            status,
            host,
        } => {
            let mut packet = Vec::with_capacity(8 + data.len());
            message_packet(&mut packet, bus, addr, read, data, status);
            comment_of(comment, status, host);
            packet_block(out, ts, &packet, comment);
        }
        Record::Note { status } => {
            comment_of(comment, status, None);
            encode_event(out, bus, ts, status.flag(), comment);
        }
    }
}

/// Appends an event record (no address, no data) with `comment`.
pub(super) fn encode_event(out: &mut Vec<u8>, bus: u8, ts: u64, flags: u32, comment: &str) {
    let mut packet = Vec::with_capacity(5);
    pseudo_header(&mut packet, bus, true, flags);
    packet_block(out, ts, &packet, comment);
}
