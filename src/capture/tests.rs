// SPDX-License-Identifier: GPL-2.0-or-later
//! Tests of the capture format, bound and sharing. tshark's reading of the
//! files is tested end to end in `tests/capture.rs`.

// Lengths in the files are 32-bit fields of buffers far below 4 GiB.
#![allow(clippy::cast_possible_truncation)]

use std::{
    io,
    sync::{Arc, Mutex},
    time::{Duration, UNIX_EPOCH},
};

use super::{pcapng::OPT_COMMENT, *};

/// A writer whose bytes the test can read, failing after `fail_after`.
#[derive(Clone, Default)]
pub(crate) struct Sink {
    pub(crate) bytes: Arc<Mutex<Vec<u8>>>,
    fail_after: Option<usize>,
}

impl Sink {
    /// A tap on bus 0 of a capture into a new sink.
    pub(crate) fn tap() -> (Tap, Self) {
        let (c, sink) = capture(0);
        (Tap::new(Arc::new(c), 0).unwrap(), sink)
    }

    /// The records so far: packet data and comment of each.
    pub(crate) fn records(&self) -> Vec<(Vec<u8>, String)> {
        let b = self.bytes.lock().unwrap().clone();
        blocks(&b)
            .iter()
            .skip(2)
            .map(|(_, body)| {
                let (_, data, comment) = epb(body);
                (data, comment)
            })
            .collect()
    }
}

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let mut v = self.bytes.lock().unwrap();
        if let Some(n) = self.fail_after.filter(|n| v.len() + b.len() > *n) {
            // A partial write, as a full disk gives.
            let k = n.saturating_sub(v.len());
            v.extend_from_slice(&b[..k]);
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        v.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Output for Sink {
    fn cut(&mut self, len: u64) -> io::Result<()> {
        self.bytes.lock().unwrap().truncate(len as usize);
        Ok(())
    }
}

fn s(a: u8) -> Address {
    Address::seven(a).unwrap()
}

fn u32le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// The blocks of a pcapng byte string: (type, body without the lengths).
fn blocks(b: &[u8]) -> Vec<(u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let kind = u32le(b, at);
        let len = u32le(b, at + 4) as usize;
        assert_eq!(len % 4, 0, "block lengths are multiples of 4");
        assert_eq!(u32le(b, at + len - 4), len as u32, "trailing length");
        out.push((kind, b[at + 8..at + len - 4].to_vec()));
        at += len;
    }
    assert_eq!(at, b.len(), "no partial block");
    out
}

/// An EPB body's packet data and comment.
fn epb(body: &[u8]) -> (u64, Vec<u8>, String) {
    assert_eq!(u32le(body, 0), 0, "interface 0");
    let ts = (u64::from(u32le(body, 4)) << 32) | u64::from(u32le(body, 8));
    let cap = u32le(body, 12) as usize;
    assert_eq!(u32le(body, 16) as usize, cap);
    let data = body[20..20 + cap].to_vec();
    let mut at = 20 + cap.div_ceil(4) * 4;
    let mut comment = String::new();
    while at < body.len() {
        let code = u16::from_le_bytes([body[at], body[at + 1]]);
        let len = u16::from_le_bytes([body[at + 2], body[at + 3]]) as usize;
        if code == OPT_COMMENT {
            comment = String::from_utf8(body[at + 4..at + 4 + len].to_vec()).unwrap();
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    (ts, data, comment)
}

fn capture(max: u64) -> (Capture, Sink) {
    let sink = Sink::default();
    let c = Capture::with_writer(Path::new("mem"), Box::new(sink.clone()), max).unwrap();
    (c, sink)
}

#[test]
fn header_is_a_section_and_one_i2c_linux_interface() {
    let (_, sink) = capture(0);
    let b = sink.bytes.lock().unwrap().clone();
    let bl = blocks(&b);
    assert_eq!(bl.len(), 2);
    assert_eq!(bl[0].0, 0x0A0D_0D0A);
    assert_eq!(u32le(&bl[0].1, 0), 0x1A2B_3C4D);
    assert_eq!(&bl[0].1[4..8], &[1, 0, 0, 0], "version 1.0");
    assert_eq!(bl[1].0, 1);
    assert_eq!(&bl[1].1[0..2], &209u16.to_le_bytes());
    // if_tsresol = 9 (nanoseconds) is among the options.
    let opts = &bl[1].1[8..];
    assert!(opts.windows(5).any(|w| w == [9, 0, 1, 0, 9]), "{opts:?}");
}

#[test]
fn messages_carry_bus_flags_address_data_and_outcome() {
    let (c, sink) = capture(0);
    let at = UNIX_EPOCH + Duration::new(1_700_000_000, 123);
    let t = Tap::new(Arc::new(c), 3).unwrap();
    t.record(
        at,
        &[
            Record::Msg {
                addr: s(0x50),
                read: false,
                data: &[0x10, 0xaa],
                status: Status::Ack,
                host: None,
            },
            Record::Msg {
                addr: s(0x50),
                read: true,
                data: &[1, 2],
                status: Status::Ack,
                host: Some(s(0x51)),
            },
            Record::Msg {
                addr: Address::ten(0x2a5).unwrap(),
                read: true,
                data: &[],
                status: Status::Nack,
                host: None,
            },
            Record::Msg {
                addr: s(0x48),
                read: false,
                data: &[7],
                status: Status::NotRun("an earlier message failed"),
                host: None,
            },
            Record::Note {
                status: Status::Refused("request 4 is malformed"),
            },
        ],
    );
    let b = sink.bytes.lock().unwrap().clone();
    let bl = blocks(&b);
    let recs: Vec<_> = bl[2..].iter().map(|(k, body)| {
        assert_eq!(*k, 6);
        epb(body)
    }).collect();
    let ts = 1_700_000_000_000_000_123;
    assert!(recs.iter().all(|r| r.0 == ts));
    assert_eq!(recs[0].1, [3, 0, 0, 0, 0, 0xa0, 0x10, 0xaa]);
    assert_eq!(recs[0].2, "ACK");
    assert_eq!(recs[1].1, [3, 0, 0, 0, 1, 0xa1, 1, 2]);
    assert_eq!(recs[1].2, "ACK (host address 0x51)");
    // 10-bit: TEN and RD, NACK bit; 11110_10_1 then the low byte.
    assert_eq!(recs[2].1, [3, 0x01, 0, 0, 0x11, 0xf5, 0xa5]);
    assert_eq!(recs[2].2, "NACK");
    assert_eq!(recs[3].1, [3, 0x08, 0, 0, 0, 0x90, 7]);
    assert_eq!(recs[3].2, "not run: an earlier message failed");
    // An event: bit 7 of the bus byte, no address.
    assert_eq!(recs[4].1, [0x83, 0x04, 0, 0, 0]);
    assert_eq!(recs[4].2, "refused: request 4 is malformed");
}

#[test]
fn the_bound_stops_before_a_group_that_would_pass_it_and_says_so_once() {
    let rec = [Record::Msg {
        addr: s(0x50),
        read: false,
        data: &[0; 100],
        status: Status::Ack,
        host: None,
    }];
    let one = {
        let (c, _) = capture(0);
        let before = c.written();
        c.record(0, UNIX_EPOCH, &rec);
        c.written() - before
    };
    let max = min_bytes() + 2 * one + 10;
    let (c, sink) = capture(max);
    for _ in 0..5 {
        c.record(0, UNIX_EPOCH, &rec);
    }
    let b = sink.bytes.lock().unwrap().clone();
    assert!(b.len() as u64 <= max, "{} > {max}", b.len());
    assert_eq!(c.written(), b.len() as u64);
    let bl = blocks(&b);
    assert_eq!(bl.len(), 2 + 2 + 1, "header, two records, the stop record");
    let (_, data, comment) = epb(&bl[4].1);
    assert_eq!(data, [0x80, 0, 0, 1, 0], "event: buffer overrun");
    assert_eq!(comment, STOP_COMMENT);
    let notice = c.take_notice().unwrap();
    assert!(notice.contains("would pass max_bytes="), "{notice}");
    assert_eq!(c.take_notice(), None, "said once");
    // A bound below the header and the stop record is refused.
    let e = Capture::open(Path::new("/nonexistent/x"), min_bytes() - 1).unwrap_err();
    assert!(matches!(e, CaptureError::TooSmall { .. }), "{e}");
}

#[test]
fn a_write_error_stops_the_capture_with_a_notice() {
    let sink = Sink {
        fail_after: Some(200),
        ..Sink::default()
    };
    let c = Capture::with_writer(Path::new("full"), Box::new(sink.clone()), 0).unwrap();
    let rec = [Record::Msg {
        addr: s(0x50),
        read: true,
        data: &[0; 64],
        status: Status::Ack,
        host: None,
    }];
    for _ in 0..4 {
        c.record(1, UNIX_EPOCH, &rec);
    }
    let notice = c.take_notice().unwrap();
    assert!(notice.starts_with("capture to full stopped: write failed: "), "{notice}");
    // What reached the sink is whole blocks only.
    blocks(&sink.bytes.lock().unwrap());
}

#[test]
fn comments_are_cut_at_the_limit_on_a_character_boundary() {
    let (c, sink) = capture(0);
    let long = "\u{e9}".repeat(MAX_COMMENT);
    c.record(0, UNIX_EPOCH, &[Record::Note { status: Status::Error(&long) }]);
    let b = sink.bytes.lock().unwrap().clone();
    let (_, _, comment) = epb(&blocks(&b)[2].1);
    assert!(comment.len() <= MAX_COMMENT && comment.starts_with("error: \u{e9}"));
}

#[test]
fn one_path_is_one_capture_in_a_process() {
    let dir = std::env::temp_dir().join(format!("vi2c-capture-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("shared.pcapng");
    let a = Capture::open(&p, 0).unwrap();
    // The same file by another spelling.
    let b = Capture::open(&dir.join(".").join("shared.pcapng"), 0).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    let e = Capture::open(&p, 1 << 20).unwrap_err();
    assert!(matches!(e, CaptureError::Mismatch { .. }), "{e}");
    drop((a, b));
    // Closed: opened afresh (and truncated).
    let c = Capture::open(&p, 1 << 20).unwrap();
    assert_eq!(c.written(), std::fs::metadata(&p).unwrap().len());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    drop(c);
    let e = Capture::open(&dir.join("no/such/dir/x.pcapng"), 0).unwrap_err();
    assert!(e.to_string().starts_with("cannot create the capture file "), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bus_numbers_have_seven_bits() {
    let (c, _) = capture(0);
    let c = Arc::new(c);
    assert!(Tap::new(Arc::clone(&c), 127).is_some());
    assert!(Tap::new(c, 128).is_none());
}
