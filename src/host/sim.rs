// SPDX-License-Identifier: GPL-2.0-or-later
//! A software I2C bus with device models, for tests, benchmarks and
//! fuzzing (the `test-utils` feature; never in the shipped library).
//!
//! Models (all 7-bit):
//! - [`Eeprom24c02`]: 256 bytes, an address pointer set by the first byte
//!   of a write, 8-byte pages (a page write wraps inside its page and is
//!   programmed at STOP; a repeated START aborts it, as on the chip),
//!   sequential reads that wrap at the end of the array.
//! - [`RegisterFile`]: 256 one-byte registers, a pointer that
//!   auto-increments on reads and writes, writes take effect at once.
//! - any other address NACKs.
//!
//! Adapter modes: full I2C (default), SMBus-only (no `I2C_FUNC_I2C`,
//! `rdwr` refused with `EOPNOTSUPP` as i2c-dev does), no zero-length
//! messages (the `I2C_AQ_NO_ZERO_LEN` quirk: `EOPNOTSUPP`), 10-bit
//! capable (no 10-bit model answers, so such messages NACK). Errors can be
//! scripted for the next transfers. The state sits behind an
//! `Arc<Mutex<_>>` so a test keeps a [`SimHandle`] to inspect it after the
//! adapter has moved into a device.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
};

use super::{
    bus::{BusAdapter, ByteBus},
    smbus, Failure, HostError, I2cAdapter, SmbusXfer,
};
use crate::i2c::{parse_number, Address, Funcs, Msg, Transfer};

/// A byte-level target model.
pub trait SimDevice: Send + std::fmt::Debug {
    /// Addressed by a START (or repeated START).
    fn start(&mut self, read: bool);
    /// A byte written by the controller; `false` NACKs it.
    fn write(&mut self, byte: u8) -> bool;
    /// A byte read by the controller.
    fn read(&mut self) -> u8;
    /// STOP.
    fn stop(&mut self);
}

/// A 24C02-style EEPROM (see the module documentation).
#[derive(Debug, Clone)]
pub struct Eeprom24c02 {
    /// The memory array.
    pub mem: [u8; 256],
    ptr: u8,
    /// Bytes of the current write after the pointer byte, not yet programmed.
    pending: Vec<(u8, u8)>,
    /// Whether the next written byte is the pointer.
    want_ptr: bool,
}

impl Default for Eeprom24c02 {
    fn default() -> Self {
        Self {
            mem: [0xff; 256],
            ptr: 0,
            pending: Vec::new(),
            want_ptr: false,
        }
    }
}

impl Eeprom24c02 {
    const PAGE: u8 = 8;
}

impl SimDevice for Eeprom24c02 {
    fn start(&mut self, read: bool) {
        // A START before STOP aborts a page write, as on the chip.
        self.pending.clear();
        self.want_ptr = !read;
    }
    fn write(&mut self, byte: u8) -> bool {
        if self.want_ptr {
            self.ptr = byte;
            self.want_ptr = false;
        } else {
            self.pending.push((self.ptr, byte));
            let page = self.ptr & !(Self::PAGE - 1);
            self.ptr = page | (self.ptr.wrapping_add(1) & (Self::PAGE - 1));
        }
        true
    }
    fn read(&mut self) -> u8 {
        let b = self.mem.get(usize::from(self.ptr)).copied().unwrap_or(0xff);
        self.ptr = self.ptr.wrapping_add(1);
        b
    }
    fn stop(&mut self) {
        for (a, b) in self.pending.drain(..) {
            if let Some(m) = self.mem.get_mut(usize::from(a)) {
                *m = b;
            }
        }
    }
}

/// 256 one-byte registers with an auto-incrementing pointer.
#[derive(Debug, Clone)]
pub struct RegisterFile {
    /// The registers.
    pub regs: [u8; 256],
    ptr: u8,
    want_ptr: bool,
}

impl Default for RegisterFile {
    fn default() -> Self {
        let mut regs = [0; 256];
        for (i, r) in regs.iter_mut().enumerate() {
            // A recognisable pattern: register i holds !i.
            *r = !u8::try_from(i).unwrap_or(0);
        }
        Self {
            regs,
            ptr: 0,
            want_ptr: false,
        }
    }
}

impl SimDevice for RegisterFile {
    fn start(&mut self, read: bool) {
        self.want_ptr = !read;
    }
    fn write(&mut self, byte: u8) -> bool {
        if self.want_ptr {
            self.ptr = byte;
            self.want_ptr = false;
        } else {
            if let Some(r) = self.regs.get_mut(usize::from(self.ptr)) {
                *r = byte;
            }
            self.ptr = self.ptr.wrapping_add(1);
        }
        true
    }
    fn read(&mut self) -> u8 {
        let b = self
            .regs
            .get(usize::from(self.ptr))
            .copied()
            .unwrap_or(0xff);
        self.ptr = self.ptr.wrapping_add(1);
        b
    }
    fn stop(&mut self) {}
}

/// Adapter behaviour switches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimMode {
    /// No `I2C_FUNC_I2C`: only SMBus transactions.
    pub smbus_only: bool,
    /// Zero-length messages refused by `rdwr`.
    pub no_zero_len: bool,
    /// Advertise `I2C_FUNC_10BIT_ADDR`.
    pub ten_bit: bool,
    /// Behave like a host adapter whose transfers may block
    /// ([`I2cAdapter::may_block`]): devices run it on a worker thread.
    pub blocking: bool,
    /// Each transfer takes this long (microseconds), as on a slow bus.
    pub delay_us: u32,
}

/// The simulated bus state.
#[derive(Debug, Default)]
pub struct SimBus {
    /// Devices by 7-bit address.
    pub devices: BTreeMap<u8, Box<dyn SimDevice>>,
    /// Adapter behaviour.
    pub mode: SimMode,
    /// Errors returned, one each, by the next `rdwr`/`smbus` calls.
    pub scripted: VecDeque<HostError>,
    /// Number of `rdwr` calls that reached the bus.
    pub rdwr_calls: usize,
    /// Number of `smbus` calls that reached the bus.
    pub smbus_calls: usize,
    /// The messages that reached the bus, in order (the most recent
    /// [`LOG_MAX`] at most); each compares equal to its text, e.g. `W2@0x50`.
    pub log: Vec<LogEntry>,
    active: Option<u8>,
    touched: Vec<u8>,
}

impl SimBus {
    fn device(&mut self) -> Option<&mut Box<dyn SimDevice>> {
        let a = self.active?;
        self.devices.get_mut(&a)
    }
}

impl ByteBus for SimBus {
    fn start(&mut self, addr: u8, read: bool) -> bool {
        self.active = Some(addr);
        match self.devices.get_mut(&addr) {
            Some(d) => {
                d.start(read);
                if !self.touched.contains(&addr) {
                    self.touched.push(addr);
                }
                true
            }
            None => false,
        }
    }
    fn send(&mut self, byte: u8) -> bool {
        self.device().is_some_and(|d| d.write(byte))
    }
    fn recv(&mut self) -> u8 {
        self.device().map_or(0xff, |d| d.read())
    }
    fn nack(&mut self) {}
    fn stop(&mut self) {
        for a in std::mem::take(&mut self.touched) {
            if let Some(d) = self.devices.get_mut(&a) {
                d.stop();
            }
        }
        self.active = None;
    }
}

/// Most log entries kept; older ones are dropped in halves.
pub const LOG_MAX: usize = 1 << 16;

/// One message that reached the simulated bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Its target.
    pub addr: Address,
    /// Read or write.
    pub read: bool,
    /// Its length.
    pub len: usize,
}

impl std::fmt::Display for LogEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}@{}",
            if self.read { 'R' } else { 'W' },
            self.len,
            self.addr
        )
    }
}

impl PartialEq<&str> for LogEntry {
    fn eq(&self, other: &&str) -> bool {
        // Test-facing comparison; formatting cost does not matter here.
        format!("{self}").as_str() == *other
    }
}

impl SimBus {
    fn record(&mut self, msgs: &[Msg]) {
        if self.log.len() + msgs.len() > LOG_MAX {
            self.log.drain(..LOG_MAX / 2);
        }
        self.log.extend(msgs.iter().map(|m| LogEntry {
            addr: m.addr(),
            read: m.is_read(),
            len: m.len(),
        }));
    }
}

/// Shared access to a [`SimBus`] (for test inspection).
#[derive(Debug, Clone, Default)]
pub struct SimHandle(Arc<Mutex<SimBus>>);

impl SimHandle {
    /// Locks the bus state. A poisoned lock (a panicking test) is taken over.
    pub fn lock(&self) -> MutexGuard<'_, SimBus> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct SharedBus(SimHandle);

impl ByteBus for SharedBus {
    fn start(&mut self, addr: u8, read: bool) -> bool {
        self.0.lock().start(addr, read)
    }
    fn send(&mut self, byte: u8) -> bool {
        self.0.lock().send(byte)
    }
    fn recv(&mut self) -> u8 {
        self.0.lock().recv()
    }
    fn nack(&mut self) {
        self.0.lock().nack();
    }
    fn stop(&mut self) {
        self.0.lock().stop();
    }
}

/// The simulation adapter.
pub struct SimAdapter {
    bus: BusAdapter<SharedBus>,
    handle: SimHandle,
}

impl std::fmt::Debug for SimAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimAdapter").finish_non_exhaustive()
    }
}

/// Errors of [`SimAdapter::from_spec`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimSpecError {
    /// A token that is neither a model nor a mode.
    #[error("unknown simulation item '{0}' (expected eeprom@ADDR, regs@ADDR, smbus-only, no-zero-length, ten-bit, blocking or delay-us=N)")]
    UnknownItem(String),
    /// A model address that is not a 7-bit address.
    #[error("'{0}' has no valid 7-bit address")]
    BadAddress(String),
    /// Two models at one address.
    #[error("two devices at 0x{0:02x}")]
    Duplicate(u8),
}

impl SimAdapter {
    /// An empty bus with the given mode.
    pub fn new(mode: SimMode) -> Self {
        let handle = SimHandle::default();
        handle.lock().mode = mode;
        Self {
            bus: BusAdapter::new(SharedBus(handle.clone()), "simulation"),
            handle,
        }
    }

    /// Builds a bus from a spec such as
    /// `eeprom@0x50,regs@0x48,smbus-only` (items: `eeprom@ADDR`,
    /// `regs@ADDR`, `smbus-only`, `no-zero-length`, `ten-bit`, `blocking`,
    /// `delay-us=N`).
    pub fn from_spec(spec: &str) -> Result<Self, SimSpecError> {
        let sim = Self::new(SimMode::default());
        {
            let mut bus = sim.handle.lock();
            for tok in spec.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                match tok {
                    "smbus-only" => bus.mode.smbus_only = true,
                    "no-zero-length" => bus.mode.no_zero_len = true,
                    "ten-bit" => bus.mode.ten_bit = true,
                    "blocking" => bus.mode.blocking = true,
                    _ if tok.starts_with("delay-us=") => {
                        bus.mode.delay_us = tok
                            .strip_prefix("delay-us=")
                            .and_then(parse_number)
                            .ok_or_else(|| SimSpecError::UnknownItem(tok.to_owned()))?;
                    }
                    _ => {
                        let (kind, addr) = tok
                            .split_once('@')
                            .ok_or_else(|| SimSpecError::UnknownItem(tok.to_owned()))?;
                        let a = parse_number(addr)
                            .and_then(|v| u8::try_from(v).ok())
                            .filter(|v| *v <= 0x7f)
                            .ok_or_else(|| SimSpecError::BadAddress(tok.to_owned()))?;
                        let dev: Box<dyn SimDevice> = match kind {
                            "eeprom" => Box::<Eeprom24c02>::default(),
                            "regs" => Box::<RegisterFile>::default(),
                            _ => return Err(SimSpecError::UnknownItem(tok.to_owned())),
                        };
                        if bus.devices.insert(a, dev).is_some() {
                            return Err(SimSpecError::Duplicate(a));
                        }
                    }
                }
            }
        }
        Ok(sim)
    }

    /// Adds a device model.
    pub fn with_device(self, addr: u8, dev: impl SimDevice + 'static) -> Self {
        self.handle.lock().devices.insert(addr, Box::new(dev));
        self
    }

    /// A handle to inspect or script the bus later.
    pub fn handle(&self) -> SimHandle {
        self.handle.clone()
    }

    fn refusal(&self, op: &'static str) -> HostError {
        HostError::Os {
            op,
            adapter: self.bus.name(),
            errno: libc::EOPNOTSUPP,
        }
    }
}

impl I2cAdapter for SimAdapter {
    fn funcs(&self) -> Funcs {
        let mode = self.handle.lock().mode;
        let mut f = Funcs::SMBUS_ALL_TRANSLATED;
        if !mode.smbus_only {
            f |= Funcs::I2C;
        }
        if mode.ten_bit {
            f |= Funcs::TEN_BIT_ADDR;
        }
        Funcs(f)
    }

    fn rdwr(&mut self, t: &mut Transfer) -> Result<(), Failure> {
        let mode = {
            let mut bus = self.handle.lock();
            if let Some(e) = bus.scripted.pop_front() {
                return Err(e.into());
            }
            bus.mode
        };
        if mode.smbus_only || (mode.no_zero_len && t.msgs().iter().any(Msg::is_empty)) {
            return Err(self.refusal("I2C_RDWR").into());
        }
        {
            let mut bus = self.handle.lock();
            bus.rdwr_calls += 1;
            bus.record(t.msgs());
        }
        if mode.delay_us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(u64::from(mode.delay_us)));
        }
        // The byte-level bus NACKs 10-bit targets (no model has one) after
        // running the messages before.
        self.bus.rdwr(t)
    }

    fn smbus(&mut self, addr: Address, xfer: &mut SmbusXfer) -> Result<(), HostError> {
        {
            let mut bus = self.handle.lock();
            if let Some(e) = bus.scripted.pop_front() {
                return Err(e);
            }
            bus.smbus_calls += 1;
        }
        if !self.funcs().has(xfer.required_func()) {
            return Err(self.refusal("I2C_SMBUS"));
        }
        if let Ok(t) = smbus::to_msgs(addr, xfer) {
            self.handle.lock().record(t.msgs());
        }
        self.bus.smbus(addr, xfer)
    }

    fn name(&self) -> String {
        self.bus.name()
    }

    fn may_block(&self) -> bool {
        self.handle.lock().mode.blocking
    }
}

#[cfg(test)]
#[path = "sim_tests.rs"]
mod tests;
