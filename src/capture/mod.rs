// SPDX-License-Identifier: GPL-2.0-or-later
//! Traffic capture: every transfer of the devices that share a
//! [`Capture`], written to a file that Wireshark and tshark decode.
//!
//! # Format
//! A pcapng file (pcap-ng, the capture format of Wireshark, tshark and
//! libpcap 1.1 and later): one Section Header Block, one Interface
//! Description Block of link type 209, `LINKTYPE_I2C_LINUX`, with
//! nanosecond timestamps, then one Enhanced Packet Block per record, all
//! little-endian. pcapng rather than classic pcap because it carries a
//! comment per record, which is where the outcome of each message is
//! written in words (classic pcap has no place for it).
//!
//! The packet data of link type 209, as Wireshark decodes it
//! (`wiretap/pcap-common.c`, `epan/dissectors/packet-i2c.c`):
//!
//! | bytes | what |
//! |---|---|
//! | 1 | bit 7: an event record (no address, no data); bits 6-0: the bus number, shown as `I2C-<n>` |
//! | 4 | flags, big-endian: bit 0 `I2C_M_RD` (a read; Wireshark shows "I2C Read"), bit 4 `I2C_M_TEN`; for an event, the event bits (`0x100`: "The incoming I2C data buffer has been overrun; some data is lost") |
//! | 1 | (data records) the address byte as on the wire, `addr << 1 \| rd`; Wireshark shows `addr` as the destination |
//! | n | the data: written, or read |
//!
//! A 10-bit address is written as its two address bytes on the wire
//! (`0b11110_a9_a8_rd`, then `a7..a0`) with `I2C_M_TEN` set; Wireshark
//! shows 0x78-0x7b as the address and the low byte as the first data byte.
//!
//! # Outcomes
//! One data record per message, in the order of its transfer, with the
//! address the device's user sees (see the devices), the direction, the
//! bytes (for a read that failed or never ran: none), and its outcome
//! twice:
//! - in the record's comment (`frame.comment` in tshark): `ACK`, `NACK`,
//!   `error: <what the host reported>`, `refused: <why>` (refused before
//!   any bus traffic: the address policy, a read-only client, a malformed
//!   group), or `not run: <why>` (an earlier message of its transfer
//!   failed). A remapped address adds `(host address 0x..)`;
//! - in one bit of the flags' top byte ([`Status::flag`]): none for ACK,
//!   `0x01000000` NACK, `0x02000000` error, `0x04000000` refused,
//!   `0x08000000` not run; for display filters (`i2c.flags & 0x01000000`)
//!   and for conversions to classic pcap, which drop comments. Linux's
//!   message flags use bits 0-15 only, and Wireshark reads only bit 0.
//!
//! Requests that have no address at all (malformed ones) are event
//! records with flags 0 (Wireshark: "I2C Event", `<unknown state event>`)
//! and a comment saying what was refused.
//!
//! # Durability and size
//! Each group of records (one transfer) is written with one `write` call
//! to the file, unbuffered: after every transfer, the file on disk is a
//! complete, valid capture, whatever happens to the process afterwards
//! (not to the host: nothing is synced). With `max_bytes`, the capture
//! stops before the record group that would pass it: it writes, within the
//! bound, one last event record ("data buffer overrun", comment "capture
//! stopped ...") and nothing more; the notice is also handed out once
//! ([`Capture::take_notice`]) for a device to log. A write error stops the
//! capture the same way (what a failed write left of a record is cut
//! off). No rotation: the file keeps the start of the
//! session, which is where a driver's bring-up happens.

#![deny(unsafe_code)]

use std::{
    fs::{File, OpenOptions},
    io::{Seek, SeekFrom, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard, Weak},
    time::{SystemTime, UNIX_EPOCH},
};

use self::pcapng::{encode_event, encode_record, header};
use crate::i2c::Address;

mod pcapng;

/// `LINKTYPE_I2C_LINUX`.
pub const LINKTYPE_I2C_LINUX: u16 = 209;
/// Pseudo-header bit 7 of the first byte: an event record.
pub const EVENT_BIT: u8 = 0x80;
/// Highest bus number (7 bits).
pub const MAX_BUS: u8 = 0x7f;
/// Flag `I2C_M_RD`: a read.
pub const FLAG_RD: u32 = 0x0001;
/// Flag `I2C_M_TEN`: a 10-bit address.
pub const FLAG_TEN: u32 = 0x0010;
/// Event "incoming I2C data buffer overrun": the capture stopped.
pub const EVENT_OVERRUN: u32 = 1 << 8;
/// The longest comment written; longer ones are cut.
pub const MAX_COMMENT: usize = 1024;

/// The comment of the record that ends a stopped capture.
const STOP_COMMENT: &str =
    "capture stopped (size limit reached or write error): later transfers are not recorded";

/// What became of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status<'a> {
    /// It ran and was acknowledged.
    Ack,
    /// The target did not acknowledge it.
    Nack,
    /// The transfer failed at it otherwise; what the host reported.
    Error(&'a str),
    /// It was refused before any bus traffic; why.
    Refused(&'a str),
    /// It never ran; why.
    NotRun(&'a str),
}

impl Status<'_> {
    /// The outcome's bit in a record's flags (none for ACK).
    pub fn flag(self) -> u32 {
        match self {
            Self::Ack => 0,
            Self::Nack => 0x0100_0000,
            Self::Error(_) => 0x0200_0000,
            Self::Refused(_) => 0x0400_0000,
            Self::NotRun(_) => 0x0800_0000,
        }
    }

    fn write_text(self, out: &mut String) {
        use std::fmt::Write as _;
        // Writing into a String cannot fail.
        let _ = match self {
            Self::Ack => write!(out, "ACK"),
            Self::Nack => write!(out, "NACK"),
            Self::Error(e) => write!(out, "error: {e}"),
            Self::Refused(e) => write!(out, "refused: {e}"),
            Self::NotRun(e) => write!(out, "not run: {e}"),
        };
    }
}

/// One record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record<'a> {
    /// A message: its address, direction, bytes and outcome; `host` is
    /// the address it went to on the host when that differs.
    Msg {
        /// The address.
        addr: Address,
        /// A read.
        read: bool,
        /// The bytes written, or read (none when a read did not run).
        data: &'a [u8],
        /// The outcome.
        status: Status<'a>,
        /// The host address, when remapped.
        host: Option<Address>,
    },
    /// An event record with a comment (something without an address).
    Note {
        /// The outcome it reports.
        status: Status<'a>,
    },
}

/// Errors of [`Capture::open`].
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be created or its header written.
    #[error("cannot create the capture file {path}")]
    Create {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `max_bytes` cannot hold even the file header and the stop record.
    #[error("capture max_bytes={max} is too small: at least {min} bytes are needed (0: no limit)")]
    TooSmall {
        /// The bound asked for.
        max: u64,
        /// The smallest bound allowed.
        min: u64,
    },
    /// The file is open already, with another size bound.
    #[error("the capture file {path} is open already, with max_bytes={open}, not {asked}")]
    Mismatch {
        /// The path.
        path: PathBuf,
        /// Its bound.
        open: u64,
        /// The bound asked for.
        asked: u64,
    },
}

/// Where a capture goes: a file, or a test's buffer.
pub trait Output: Write + Send {
    /// Cuts what a failed write left after the first `len` bytes.
    fn cut(&mut self, len: u64) -> std::io::Result<()>;
}

impl Output for File {
    fn cut(&mut self, len: u64) -> std::io::Result<()> {
        self.set_len(len)?;
        self.seek(SeekFrom::Start(len)).map(drop)
    }
}

struct Writer {
    file: Box<dyn Output>,
    written: u64,
    /// Still recording.
    live: bool,
    /// Reused between groups.
    buf: Vec<u8>,
    comment: String,
}

/// A capture file, shared (through [`Arc`]) by the devices that record
/// into it.
pub struct Capture {
    path: PathBuf,
    max_bytes: u64,
    writer: Mutex<Writer>,
    /// Why the capture stopped, until a device takes it to log it.
    notice: Mutex<Option<String>>,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("path", &self.path)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

fn lock<X>(m: &Mutex<X>) -> MutexGuard<'_, X> {
    // A panic while recording leaves at worst a partial buffer, which is
    // cleared before each use.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Captures open in this process, by canonical path, so that devices
/// naming one file share it instead of overwriting each other.
static OPEN: Mutex<Vec<(PathBuf, Weak<Capture>)>> = Mutex::new(Vec::new());

/// The path a file is known by: canonical, also before it exists.
fn canonical(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            dir.canonicalize()
                .map_or_else(|_| path.to_owned(), |d| d.join(name))
        }
        _ => path.to_owned(),
    }
}

impl Capture {
    /// Creates (or truncates) the capture file at `path`, readable and
    /// writable by its owner only, and writes its header. `max_bytes`
    /// bounds the file's size (0: no bound). A file this process has open
    /// already as a capture is shared instead: the same capture is
    /// returned, if it has the same bound.
    pub fn open(path: &Path, max_bytes: u64) -> Result<Arc<Self>, CaptureError> {
        let min = min_bytes();
        if max_bytes != 0 && max_bytes < min {
            return Err(CaptureError::TooSmall {
                max: max_bytes,
                min,
            });
        }
        let key = canonical(path);
        let mut open = lock(&OPEN);
        open.retain(|(_, w)| w.strong_count() > 0);
        if let Some(c) = open.iter().find(|(p, _)| *p == key).and_then(|(_, w)| w.upgrade()) {
            if c.max_bytes != max_bytes {
                return Err(CaptureError::Mismatch {
                    path: path.to_owned(),
                    open: c.max_bytes,
                    asked: max_bytes,
                });
            }
            return Ok(c);
        }
        let create = |source| CaptureError::Create {
            path: path.to_owned(),
            source,
        };
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(create)?;
        let c = Arc::new(Self::with_writer(path, Box::new(file), max_bytes).map_err(create)?);
        open.push((key, Arc::downgrade(&c)));
        Ok(c)
    }

    /// A capture into any writer (tests); writes the header.
    pub fn with_writer(
        path: &Path,
        mut file: Box<dyn Output>,
        max_bytes: u64,
    ) -> std::io::Result<Self> {
        let mut buf = Vec::new();
        header(&mut buf);
        file.write_all(&buf)?;
        file.flush()?;
        Ok(Self {
            path: path.to_owned(),
            max_bytes,
            writer: Mutex::new(Writer {
                file,
                written: len64(buf.len()),
                live: true,
                buf,
                comment: String::new(),
            }),
            notice: Mutex::new(None),
        })
    }

    /// The file's path.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes written so far.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn written(&self) -> u64 {
        lock(&self.writer).written
    }

    /// Why the capture stopped, the first time it is asked after it did
    /// (so that one of the devices sharing it logs it, once).
    pub fn take_notice(&self) -> Option<String> {
        lock(&self.notice).take()
    }

    /// Writes `records` (one transfer, or one refused group) on bus `bus`,
    /// stamped `at`, in one write; stops the capture instead when they
    /// would pass the size bound, or when the write fails.
    pub fn record(&self, bus: u8, at: SystemTime, records: &[Record<'_>]) {
        if records.is_empty() {
            return;
        }
        let bus = bus & MAX_BUS;
        let ts = nanos(at);
        let mut w = lock(&self.writer);
        if !w.live {
            return;
        }
        let w = &mut *w;
        w.buf.clear();
        for r in records {
            encode_record(&mut w.buf, &mut w.comment, bus, ts, r);
        }
        let need = len64(w.buf.len());
        let fits = self.max_bytes == 0
            || w.written.saturating_add(need).saturating_add(stop_len()) <= self.max_bytes;
        let why = if fits {
            match w.file.write_all(&w.buf).and_then(|()| w.file.flush()) {
                Ok(()) => {
                    w.written += need;
                    return;
                }
                Err(e) => {
                    // A partial record would end the file cut short.
                    let _ = w.file.cut(w.written);
                    format!(
                        "capture to {} stopped: write failed: {e}",
                        self.path.display()
                    )
                }
            }
        } else {
            format!(
                "capture to {} stopped: the next {need} bytes would pass max_bytes={}",
                self.path.display(),
                self.max_bytes
            )
        };
        w.live = false;
        w.buf.clear();
        encode_event(&mut w.buf, bus, ts, EVENT_OVERRUN, STOP_COMMENT);
        match w.file.write_all(&w.buf).and_then(|()| w.file.flush()) {
            Ok(()) => w.written += len64(w.buf.len()),
            Err(_) => drop(w.file.cut(w.written)),
        }
        *lock(&self.notice) = Some(why);
    }
}

/// A device's end of a capture: the capture and the bus number its
/// records carry.
#[derive(Clone, Debug)]
pub struct Tap {
    capture: Arc<Capture>,
    bus: u8,
}

impl Tap {
    /// Records into `capture` as bus `bus` (0-127; `None` above).
    pub fn new(capture: Arc<Capture>, bus: u8) -> Option<Self> {
        (bus <= MAX_BUS).then_some(Self { capture, bus })
    }

    /// Writes one transfer's records, stamped `at` (when it started).
    pub fn record(&self, at: SystemTime, records: &[Record<'_>]) {
        self.capture.record(self.bus, at, records);
    }

    /// See [`Capture::take_notice`].
    pub fn take_notice(&self) -> Option<String> {
        self.capture.take_notice()
    }
}

fn len64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Nanoseconds since the epoch (0 before it).
fn nanos(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The smallest `max_bytes`: the header and the stop record.
pub fn min_bytes() -> u64 {
    let mut v = Vec::new();
    header(&mut v);
    len64(v.len()) + stop_len()
}

/// The size of the record that ends a stopped capture.
fn stop_len() -> u64 {
    let mut v = Vec::new();
    encode_event(&mut v, 0, 0, EVENT_OVERRUN, STOP_COMMENT);
    len64(v.len())
}

#[cfg(test)]
pub(crate) mod tests;
