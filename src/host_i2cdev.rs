// SPDX-License-Identifier: GPL-2.0-or-later
//! host-i2cdev: an I2C target on a QEMU emulated bus that forwards whole
//! transfers to one client of a host adapter.
//!
//! QEMU's I2C target API is byte-level and synchronous (`event`, `send`,
//! `recv`); i2c-dev offers only whole transfers. This state machine turns
//! the first into the second:
//!
//! - writes are buffered; a repeated START to write again starts a new
//!   message of the same transfer;
//! - at a receive START, the buffered write messages and a read of
//!   `prefetch` bytes go out as ONE transfer (write, repeated START, read),
//!   so a register read keeps its repeated START on the host bus; a host
//!   NACK (or any failure) there is reported as a NACK of that START;
//! - `recv` is served from the prefetched bytes; when they run out, a
//!   further read is issued (a "current address read": EEPROMs and
//!   auto-incrementing register files continue where they stopped), of
//!   twice as many bytes as the one before, so that a long read costs a
//!   few host transfers instead of one per byte;
//! - one read START reads at most [`MAX_MSG_LEN`] bytes from the host;
//!   past them `recv` returns 0xff and the guest error is reported once;
//! - at STOP (`finish`), buffered writes go out as one transfer. QEMU's
//!   `FINISH` event has no status, so a failure there is only recorded
//!   ([`HostI2cDev::take_error`]) for the glue to log.
//!
//! Every event order:
//!
//! | state \ event | START send | START recv | send | recv | NACK | FINISH |
//! |---|---|---|---|---|---|---|
//! | idle | ACK, start writing | read `prefetch`; ACK or NACK | NACK | 0xff | – | – |
//! | writing | new write message (a full transfer is flushed first) | writes + read in one transfer; ACK or NACK | buffer (NACK past 8192) | 0xff | – | flush writes |
//! | reading | start writing (the read already ended on the host) | new read transfer; ACK or NACK | NACK | next byte, refill when empty (0xff past 8192) | drop the rest | idle |
//!
//! A read-only target (`read_only`) forwards writes only as the register
//! pointer of a read: at most 1 byte (or 2, for clients with 2-byte
//! register addresses; see [`ReadOnly`]), then a repeated START to read.
//! A byte past the pointer is NACKed, a second write message NACKs its START, and
//! writes still buffered at STOP are dropped; all three are reported as
//! guest errors, and none reaches the host.
//!
//! Host work per guest action, with QEMU's big lock held (the target API
//! is synchronous): a write costs one transfer per STOP, repeated START
//! group or 41 messages, of what the guest wrote; a read START costs at
//! most 1 + log2(8192 / `prefetch`) transfers and 8192 bytes however long
//! the guest goes on reading. Each transfer takes what the bus takes, up
//! to the adapter's timeout.
//!
//! With a capture ([`HostI2cDev::set_capture`]), every transfer forwarded
//! to the host is recorded as it went there: host address, the bytes
//! written and read (a read START's prefetch, not what the controller
//! then read), each message's outcome; and every write refused because the
//! target is read-only, with what the controller had written.
//!
//! Side effects to know: reading ahead of what the controller finally
//! reads advances the target's internal pointer further than the guest
//! expects (by less than the bytes read so far, with the doubling); a
//! prefetch shorter than a multi-byte register splits the read in two
//! transfers. Set `prefetch` to the usual read size of the device (1 is
//! exact for EEPROMs and byte registers).

#![deny(unsafe_code)]

use std::time::SystemTime;

use crate::{
    capture::{Record, Status, Tap},
    host::{self, Failure, HostError, I2cAdapter},
    i2c::{Address, LimitError, Msg, Transfer, MAX_MSGS, MAX_MSG_LEN},
    policy::ReadOnly,
};

/// QEMU I2C target events (`enum i2c_event`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// `I2C_START_SEND`: START (or repeated START) with R/W = write.
    StartSend,
    /// `I2C_START_RECV`: START (or repeated START) with R/W = read.
    StartRecv,
    /// `I2C_FINISH`: STOP.
    Finish,
    /// `I2C_NACK`: the controller did not acknowledge the last byte read.
    Nack,
}

/// Errors of [`HostI2cDev::new`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `prefetch` out of range.
    #[error("prefetch={0} is out of range (1-{MAX_MSG_LEN})")]
    Prefetch(usize),
    /// The host address is reserved or out of range.
    #[error("host address {0} is reserved")]
    Reserved(Address),
}

/// Why a byte or a START was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The host transfer failed (a NACK of the client among others).
    #[error(transparent)]
    Host(#[from] HostError),
    /// The controller wrote more than one message may carry.
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// The controller wrote to a read-only target something else than the
    /// register pointer of a read.
    #[error("{addr} is read-only: only a pointer of at most {pointer_len} byte(s) before a read is forwarded")]
    ReadOnly {
        /// The host address.
        addr: Address,
        /// The longest write forwarded, as the pointer of a read.
        pointer_len: usize,
    },
    /// The controller read on past what one read START may read.
    #[error("a read of {addr} went on past {MAX_MSG_LEN} bytes; the rest reads 0xff")]
    ReadPastLimit {
        /// The host address.
        addr: Address,
    },
}

impl TargetError {
    /// Whether this is a plain NACK of the client.
    pub fn is_nack(&self) -> bool {
        matches!(self, Self::Host(e) if e.is_nack())
    }

    /// Whether the guest is at fault (as opposed to the host or the bus).
    pub fn is_guest_error(&self) -> bool {
        !matches!(self, Self::Host(_))
    }
}

/// A read in progress: what was read from the host and what was served.
#[derive(Debug)]
struct Read {
    data: Vec<u8>,
    pos: usize,
    /// Bytes read from the host since the START.
    total: usize,
    /// The size of the next refill.
    next: usize,
}

#[derive(Debug)]
enum State {
    Idle,
    Writing(Vec<Msg>),
    Reading(Read),
}

/// The host-i2cdev target.
#[derive(Debug)]
pub struct HostI2cDev<A> {
    adapter: A,
    addr: Address,
    prefetch: usize,
    read_only: Option<ReadOnly>,
    state: State,
    error: Option<TargetError>,
    capture: Option<Tap>,
}

impl<A: I2cAdapter> HostI2cDev<A> {
    /// Forwards to `addr` on `adapter`, reading `prefetch` bytes at a read
    /// START; with `read_only`, writes only as the pointer of a read. The
    /// caller has claimed `addr` on the adapter.
    pub fn new(
        adapter: A,
        addr: Address,
        prefetch: usize,
        read_only: Option<ReadOnly>,
    ) -> Result<Self, ConfigError> {
        if !(1..=MAX_MSG_LEN).contains(&prefetch) {
            return Err(ConfigError::Prefetch(prefetch));
        }
        if addr.is_reserved() {
            return Err(ConfigError::Reserved(addr));
        }
        Ok(Self {
            adapter,
            addr,
            prefetch,
            read_only,
            state: State::Idle,
            error: None,
            capture: None,
        })
    }

    /// Records every transfer and refused write from now on into `tap`
    /// (`None`: stops).
    pub fn set_capture(&mut self, tap: Option<Tap>) {
        self.capture = tap;
    }

    /// Records writes refused because the target is read-only.
    fn record_refused(&self, msgs: &[Msg], extra: Option<u8>) {
        let Some(tap) = &self.capture else {
            return;
        };
        let why = self.read_only_error().to_string();
        let last = msgs.len().saturating_sub(1);
        // The byte refused, after those buffered before it.
        let with_extra: Option<Vec<u8>> =
            extra.and_then(|b| msgs.last().map(|m| [m.data(), &[b]].concat()));
        let records: Vec<Record<'_>> = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let data = match &with_extra {
                    Some(d) if i == last => d.as_slice(),
                    _ => m.data(),
                };
                Record::Msg {
                    addr: self.addr,
                    read: false,
                    data,
                    status: Status::Refused(&why),
                    host: None,
                }
            })
            .collect();
        tap.record(SystemTime::now(), &records);
    }

    /// Handles a START or STOP event. `Ok` acknowledges a START; `Err`
    /// NACKs it (its cause is also kept for [`Self::take_error`]).
    pub fn event(&mut self, ev: Event) -> Result<(), TargetError> {
        let r = match ev {
            Event::StartSend => self.start_send(),
            Event::StartRecv => self.start_recv(),
            Event::Finish => {
                if let State::Writing(msgs) = std::mem::replace(&mut self.state, State::Idle) {
                    // FINISH has no status: keep the error for the log.
                    let r = if self.read_only.is_some() {
                        // A pointer never followed by its read.
                        self.record_refused(&msgs, None);
                        Err(self.read_only_error())
                    } else {
                        self.flush(msgs, None).map(drop)
                    };
                    if let Err(e) = r {
                        self.error = Some(e);
                    }
                }
                Ok(())
            }
            Event::Nack => {
                if let State::Reading(r) = &mut self.state {
                    r.pos = r.data.len();
                    r.data.clear();
                }
                Ok(())
            }
        };
        if let Err(e) = &r {
            self.error = Some(e.clone());
        }
        r
    }

    /// A byte from the controller; `Err` NACKs it.
    pub fn send(&mut self, byte: u8) -> Result<(), TargetError> {
        let r = match &mut self.state {
            State::Writing(msgs) => match (msgs.last_mut(), self.read_only) {
                (Some(m), Some(ro)) if m.len() >= ro.pointer_len() => {
                    let refused = [m.clone()];
                    self.record_refused(&refused, Some(byte));
                    Err(self.read_only_error())
                }
                (Some(m), _) => m.push(byte).map_err(TargetError::from),
                (None, _) => Err(LimitError::EmptyTransfer.into()),
            },
            _ => Err(HostError::Nack { addr: self.addr }.into()),
        };
        if let Err(e) = &r {
            self.error = Some(e.clone());
        }
        r
    }

    /// A byte for the controller. `recv` cannot fail in QEMU's API: a failed
    /// refill, or a read past [`MAX_MSG_LEN`] bytes, returns 0xff (an idle
    /// bus reads high) and keeps the error. After a failed refill the read
    /// is over: the rest reads 0xff without another host transfer.
    pub fn recv(&mut self) -> u8 {
        let State::Reading(r) = &mut self.state else {
            return 0xff;
        };
        if let Some(b) = r.data.get(r.pos) {
            r.pos += 1;
            return *b;
        }
        if r.total >= MAX_MSG_LEN {
            if r.total == MAX_MSG_LEN {
                // Reported once per START.
                r.total += 1;
                self.error = Some(TargetError::ReadPastLimit { addr: self.addr });
            }
            return 0xff;
        }
        let n = r.next.min(MAX_MSG_LEN - r.total);
        let (total, next) = (r.total + n, r.next.saturating_mul(2));
        match self.flush(Vec::new(), Some(n)) {
            Ok(fresh) => {
                let data = fresh.unwrap_or_default();
                let b = data.first().copied().unwrap_or(0xff);
                self.state = State::Reading(Read {
                    data,
                    pos: 1,
                    total,
                    next,
                });
                b
            }
            Err(e) => {
                // The read ended on the host: no retry per byte.
                self.state = State::Idle;
                self.error = Some(e);
                0xff
            }
        }
    }

    /// Device reset: drops buffered writes, prefetched bytes and the last
    /// error; the next START begins afresh.
    pub fn reset(&mut self) {
        self.state = State::Idle;
        self.error = None;
    }

    /// Takes the last error, for logging.
    pub fn take_error(&mut self) -> Option<TargetError> {
        self.error.take()
    }

    /// The refusal of a write to a read-only target.
    fn read_only_error(&self) -> TargetError {
        TargetError::ReadOnly {
            addr: self.addr,
            pointer_len: self.read_only.map_or(0, ReadOnly::pointer_len),
        }
    }

    fn start_send(&mut self) -> Result<(), TargetError> {
        let empty = Msg::write(self.addr, Vec::new())?;
        match std::mem::replace(&mut self.state, State::Idle) {
            // A write after a write: the first was no pointer of a read.
            State::Writing(msgs) if self.read_only.is_some() => {
                self.record_refused(&msgs, None);
                return Err(self.read_only_error());
            }
            State::Writing(mut msgs) => {
                // Leave room for a read message after the writes.
                if msgs.len() + 1 >= MAX_MSGS {
                    self.flush(std::mem::take(&mut msgs), None)?;
                }
                msgs.push(empty);
                self.state = State::Writing(msgs);
            }
            State::Idle | State::Reading { .. } => self.state = State::Writing(vec![empty]),
        }
        Ok(())
    }

    fn start_recv(&mut self) -> Result<(), TargetError> {
        let writes = match std::mem::replace(&mut self.state, State::Idle) {
            State::Writing(msgs) => msgs,
            _ => Vec::new(),
        };
        let data = self.flush(writes, Some(self.prefetch))?.unwrap_or_default();
        self.state = State::Reading(Read {
            data,
            pos: 0,
            total: self.prefetch,
            next: self.prefetch.saturating_mul(2),
        });
        Ok(())
    }

    fn flush(
        &mut self,
        mut msgs: Vec<Msg>,
        read: Option<usize>,
    ) -> Result<Option<Vec<u8>>, TargetError> {
        if let Some(n) = read {
            msgs.push(Msg::read(self.addr, n)?);
        }
        if msgs.is_empty() {
            return Ok(None);
        }
        let mut t = Transfer::new(msgs)?;
        let at = SystemTime::now();
        let r = host::transfer(&mut self.adapter, &mut t);
        if let Some(tap) = &self.capture {
            record_transfer(tap, at, t.msgs(), r.as_ref().err());
        }
        r.map_err(|f| f.error)?;
        Ok(read.and_then(|_| t.into_msgs().pop()).map(Msg::into_data))
    }
}

/// Records a transfer that went to the host, and how it ended.
fn record_transfer(tap: &Tap, at: SystemTime, msgs: &[Msg], failure: Option<&Failure>) {
    let why = failure.map(|f| f.error.to_string()).unwrap_or_default();
    let records: Vec<Record<'_>> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let status = match failure {
                None => Status::Ack,
                Some(f) if i < f.completed => Status::Ack,
                Some(f) if i == f.completed && f.error.is_nack() => Status::Nack,
                Some(f) if i == f.completed => Status::Error(&why),
                Some(_) => Status::NotRun("an earlier message of the transfer failed"),
            };
            let data = if m.is_read() && status != Status::Ack {
                &[]
            } else {
                m.data()
            };
            Record::Msg {
                addr: m.addr(),
                read: m.is_read(),
                data,
                status,
                host: None,
            }
        })
        .collect();
    tap.record(at, &records);
}

#[cfg(test)]
#[path = "host_i2cdev_tests.rs"]
mod tests;
