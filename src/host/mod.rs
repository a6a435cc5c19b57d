// SPDX-License-Identifier: GPL-2.0-or-later
//! Host side: the [`I2cAdapter`] trait and the transfer strategy above it.
//!
//! An adapter is something that can run I2C transfers: a Linux i2c-dev
//! adapter ([`linux`]), a QEMU emulated bus reached through byte-level
//! callbacks ([`bus`]), or a software simulation ([`sim`]). The trait mirrors
//! the two i2c-dev entry points one to one: [`I2cAdapter::rdwr`] is
//! `I2C_RDWR` (one combined transfer, repeated STARTs between messages, one
//! STOP) and [`I2cAdapter::smbus`] is `I2C_SMBUS` (one SMBus transaction).
//!
//! [`transfer`] chooses between them for a group of messages, from the
//! adapter's functionality bits (`I2C_FUNCS`):
//! - adapters with `I2C_FUNC_I2C` get the group as one `rdwr` call;
//! - a lone zero-length message (SMBus Quick, what `i2cdetect` sends) falls
//!   back to an SMBus Quick when the adapter refuses zero-length messages
//!   (`EOPNOTSUPP`, the kernel's `I2C_AQ_NO_ZERO_LEN` quirk);
//! - SMBus-only adapters get the one SMBus transaction that puts exactly the
//!   same bytes on the wire ([`smbus::translate`]); a group without such an
//!   equivalent fails with [`HostError::NoSmbusEquivalent`] before any bus
//!   traffic.
//!
//! Invariants: nothing here issues a system call except [`linux`]; every
//! error keeps the numbers that matter (address, length, errno).

pub mod bus;
pub mod linux;
pub mod sim;
pub mod smbus;

use std::fmt;

pub use smbus::{SmbusData, SmbusSize, SmbusXfer};

/// Maximum number of messages in one combined transfer.
///
/// # Source
/// `I2C_RDWR_IOCTL_MAX_MSGS` in `<linux/i2c-dev.h>`.
pub const MAX_MSGS: usize = 42;

/// Maximum length of one message in bytes.
///
/// # Source
/// `drivers/i2c/i2c-dev.c`: `i2cdev_ioctl_rdwr` refuses `len > 8192`.
pub const MAX_MSG_LEN: usize = 8192;

/// An I2C target address, 7-bit or 10-bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Address {
    /// A 7-bit address (0x00..=0x7f).
    Seven(u8),
    /// A 10-bit address (0x000..=0x3ff).
    Ten(u16),
}

impl Address {
    /// Builds a 7-bit address, `None` when `addr > 0x7f`.
    pub fn seven(addr: u8) -> Option<Self> {
        (addr <= 0x7f).then_some(Self::Seven(addr))
    }

    /// Builds a 10-bit address, `None` when `addr > 0x3ff`.
    pub fn ten(addr: u16) -> Option<Self> {
        (addr <= 0x3ff).then_some(Self::Ten(addr))
    }

    /// The address value without its width.
    pub fn value(self) -> u16 {
        match self {
            Self::Seven(a) => u16::from(a),
            Self::Ten(a) => a,
        }
    }

    /// Whether this is a 10-bit address.
    pub fn is_ten_bit(self) -> bool {
        matches!(self, Self::Ten(_))
    }

    /// Whether a 7-bit address is reserved by the I2C specification:
    /// 0x00-0x07 (general call, START byte, CBUS, other buses, Hs-mode) and
    /// 0x78-0x7f (10-bit addressing, device ID).
    ///
    /// # Source
    /// NXP UM10204 "I2C-bus specification", table 4 "Reserved addresses".
    pub fn is_reserved(self) -> bool {
        match self {
            Self::Seven(a) => a <= 0x07 || a >= 0x78,
            Self::Ten(_) => false,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Seven(a) => write!(f, "0x{a:02x}"),
            Self::Ten(a) => write!(f, "10-bit 0x{a:03x}"),
        }
    }
}

/// One I2C message of a combined transfer.
///
/// For a read, `buf` is allocated to the read length by the caller and
/// filled by the adapter; for a write it holds the bytes to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    /// Target address.
    pub addr: Address,
    /// Direction: `true` reads from the target.
    pub read: bool,
    /// Data to write, or room for the data read.
    pub buf: Vec<u8>,
}

impl Msg {
    /// A write message carrying `data`.
    pub fn write(addr: Address, data: Vec<u8>) -> Self {
        Self {
            addr,
            read: false,
            buf: data,
        }
    }

    /// A read message of `len` bytes (zero-filled until the adapter fills it).
    pub fn read(addr: Address, len: usize) -> Self {
        Self {
            addr,
            read: true,
            buf: vec![0; len],
        }
    }
}

/// Adapter functionality bits, with the values of `I2C_FUNC_*` in
/// `<linux/i2c.h>` (as returned by the `I2C_FUNCS` ioctl).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Funcs(pub u64);

#[allow(missing_docs)]
impl Funcs {
    pub const I2C: u64 = 0x0000_0001;
    pub const TEN_BIT_ADDR: u64 = 0x0000_0002;
    pub const SMBUS_QUICK: u64 = 0x0001_0000;
    pub const SMBUS_READ_BYTE: u64 = 0x0002_0000;
    pub const SMBUS_WRITE_BYTE: u64 = 0x0004_0000;
    pub const SMBUS_READ_BYTE_DATA: u64 = 0x0008_0000;
    pub const SMBUS_WRITE_BYTE_DATA: u64 = 0x0010_0000;
    pub const SMBUS_READ_WORD_DATA: u64 = 0x0020_0000;
    pub const SMBUS_WRITE_WORD_DATA: u64 = 0x0040_0000;
    pub const SMBUS_PROC_CALL: u64 = 0x0080_0000;
    pub const SMBUS_READ_BLOCK_DATA: u64 = 0x0100_0000;
    pub const SMBUS_WRITE_BLOCK_DATA: u64 = 0x0200_0000;
    pub const SMBUS_READ_I2C_BLOCK: u64 = 0x0400_0000;
    pub const SMBUS_WRITE_I2C_BLOCK: u64 = 0x0800_0000;

    /// Every SMBus transaction [`smbus::translate`] can produce.
    pub const SMBUS_ALL_TRANSLATED: u64 = Self::SMBUS_QUICK
        | Self::SMBUS_READ_BYTE
        | Self::SMBUS_WRITE_BYTE
        | Self::SMBUS_READ_BYTE_DATA
        | Self::SMBUS_WRITE_BYTE_DATA
        | Self::SMBUS_READ_WORD_DATA
        | Self::SMBUS_WRITE_WORD_DATA
        | Self::SMBUS_PROC_CALL
        | Self::SMBUS_WRITE_BLOCK_DATA
        | Self::SMBUS_READ_I2C_BLOCK
        | Self::SMBUS_WRITE_I2C_BLOCK;

    /// Whether every bit of `bits` is set.
    pub fn has(self, bits: u64) -> bool {
        self.0 & bits == bits
    }
}

/// Errors of the host layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// The target did not acknowledge (`ENXIO`/`EREMOTEIO` from i2c-dev, or
    /// a NACK on an emulated bus).
    #[error("no acknowledge from {addr}")]
    Nack {
        /// Address of the message that was not acknowledged.
        addr: Address,
    },
    /// An ioctl or other system call failed.
    #[error("{op} on {adapter} failed: {}", std::io::Error::from_raw_os_error(*.errno))]
    Os {
        /// The operation (`I2C_RDWR`, `I2C_SMBUS`, `open`, ...).
        op: &'static str,
        /// The adapter, as the user named it.
        adapter: String,
        /// The errno value.
        errno: i32,
    },
    /// The group has no SMBus transaction that puts the same bytes on the
    /// wire, or the adapter lacks the functionality bit for it.
    #[error("{adapter} is SMBus-only and has no SMBus transaction for {shape}")]
    NoSmbusEquivalent {
        /// The adapter.
        adapter: String,
        /// The group's shape, e.g. `[W1 R40]`.
        shape: String,
    },
    /// The adapter cannot address 10-bit targets.
    #[error("{adapter} does not support 10-bit addresses")]
    TenBitUnsupported {
        /// The adapter.
        adapter: String,
    },
    /// More messages than one transfer may carry.
    #[error("{count} messages in one transfer; at most {MAX_MSGS} are allowed")]
    TooManyMessages {
        /// Number of messages in the group.
        count: usize,
    },
    /// A message longer than one transfer may carry.
    #[error("message of {len} bytes; at most {MAX_MSG_LEN} are allowed")]
    MessageTooLong {
        /// Length of the message.
        len: usize,
    },
    /// The group was empty.
    #[error("empty transfer")]
    EmptyTransfer,
    /// The address is claimed by a kernel driver (`EBUSY` from `I2C_SLAVE`).
    #[error("{addr} on {adapter} is in use by a kernel driver (use force=on to override)")]
    Busy {
        /// The adapter.
        adapter: String,
        /// The claimed address.
        addr: Address,
    },
    /// The address is claimed by another process (byte-range lock held).
    #[error("{addr} on {adapter} is claimed by another process{}", holder_text(*.pid))]
    Claimed {
        /// The adapter.
        adapter: String,
        /// The claimed address.
        addr: Address,
        /// Process holding the claim, when the kernel reports it.
        pid: Option<i32>,
    },
    /// The adapter could not be found or opened.
    #[error("{0}")]
    NotFound(String),
}

fn holder_text(pid: Option<i32>) -> String {
    pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
}

impl HostError {
    /// The errno behind this error, for callers that report one.
    pub fn errno(&self) -> i32 {
        match self {
            Self::Nack { .. } => libc::ENXIO,
            Self::Os { errno, .. } => *errno,
            Self::NoSmbusEquivalent { .. } | Self::TenBitUnsupported { .. } => libc::EOPNOTSUPP,
            Self::TooManyMessages { .. } | Self::MessageTooLong { .. } | Self::EmptyTransfer => {
                libc::EINVAL
            }
            Self::Busy { .. } => libc::EBUSY,
            Self::Claimed { .. } => libc::EAGAIN,
            Self::NotFound(_) => libc::ENOENT,
        }
    }

    /// Whether this is an ordinary "nobody answered" condition, as opposed to
    /// a fault worth a warning: bus scans produce NACKs all the time.
    pub fn is_nack(&self) -> bool {
        matches!(self, Self::Nack { .. })
            || matches!(self, Self::Os { errno, .. } if *errno == libc::ENXIO || *errno == libc::EREMOTEIO)
    }
}

/// A failed transfer: the error, and how many leading messages completed
/// before it (0 when the adapter cannot tell, as with i2c-dev).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Messages fully transferred before the failure.
    pub completed: usize,
    /// What went wrong.
    pub error: HostError,
}

impl From<HostError> for Failure {
    fn from(error: HostError) -> Self {
        Self {
            completed: 0,
            error,
        }
    }
}

/// Something that can run I2C transfers.
///
/// Implementations are driven from one thread at a time (`&mut self`); they
/// must be `Send` so the device can move them to its worker thread.
pub trait I2cAdapter: Send {
    /// The adapter's functionality bits.
    fn funcs(&self) -> Funcs;

    /// Runs `msgs` as one combined transfer: START, each message with a
    /// repeated START before the next, one STOP. Read messages are filled in
    /// place. Like `I2C_RDWR`.
    fn rdwr(&mut self, msgs: &mut [Msg]) -> Result<(), Failure>;

    /// Runs one SMBus transaction with the target `addr`. Like `I2C_SMBUS`
    /// after `I2C_SLAVE`.
    fn smbus(&mut self, addr: Address, xfer: &mut SmbusXfer) -> Result<(), HostError>;

    /// Claims `addr` for this user (a no-op where nothing else can use it).
    /// With `force`, an address bound to a kernel driver is taken anyway.
    fn claim(&mut self, addr: Address, force: bool) -> Result<(), HostError> {
        let _ = (addr, force);
        Ok(())
    }

    /// A short name for messages, e.g. `/dev/i2c-0`.
    fn name(&self) -> String;
}

impl<A: I2cAdapter + ?Sized> I2cAdapter for Box<A> {
    fn funcs(&self) -> Funcs {
        (**self).funcs()
    }
    fn rdwr(&mut self, msgs: &mut [Msg]) -> Result<(), Failure> {
        (**self).rdwr(msgs)
    }
    fn smbus(&mut self, addr: Address, xfer: &mut SmbusXfer) -> Result<(), HostError> {
        (**self).smbus(addr, xfer)
    }
    fn claim(&mut self, addr: Address, force: bool) -> Result<(), HostError> {
        (**self).claim(addr, force)
    }
    fn name(&self) -> String {
        (**self).name()
    }
}

/// Checks the limits every adapter shares: 1..=42 messages, each at most
/// 8192 bytes, and 10-bit addresses only where the adapter has them.
/// `name` is only called to build an error.
pub fn check_limits(
    funcs: Funcs,
    name: impl FnOnce() -> String,
    msgs: &[Msg],
) -> Result<(), HostError> {
    if msgs.is_empty() {
        return Err(HostError::EmptyTransfer);
    }
    if msgs.len() > MAX_MSGS {
        return Err(HostError::TooManyMessages { count: msgs.len() });
    }
    for m in msgs {
        if m.buf.len() > MAX_MSG_LEN {
            return Err(HostError::MessageTooLong { len: m.buf.len() });
        }
        if m.addr.is_ten_bit() && !funcs.has(Funcs::TEN_BIT_ADDR) {
            return Err(HostError::TenBitUnsupported { adapter: name() });
        }
    }
    Ok(())
}

/// Runs a group of messages on `adapter` as one transfer, choosing
/// `I2C_RDWR`, the zero-length fallback or an SMBus translation (see the
/// module documentation). Nothing reaches the bus when the group is refused.
pub fn transfer<A: I2cAdapter + ?Sized>(adapter: &mut A, msgs: &mut [Msg]) -> Result<(), Failure> {
    let funcs = adapter.funcs();
    check_limits(funcs, || adapter.name(), msgs)?;
    if funcs.has(Funcs::I2C) {
        return match adapter.rdwr(msgs) {
            Err(f) if is_zero_len_refusal(&f.error) && funcs.has(Funcs::SMBUS_QUICK) => {
                match msgs {
                    [m] if m.buf.is_empty() => quick(adapter, m),
                    _ => Err(f),
                }
            }
            other => other,
        };
    }
    let (addr, mut xfer) = smbus::translate(msgs, funcs).map_err(|shape| {
        Failure::from(HostError::NoSmbusEquivalent {
            adapter: adapter.name(),
            shape,
        })
    })?;
    adapter.smbus(addr, &mut xfer)?;
    smbus::scatter(&xfer, msgs);
    Ok(())
}

fn is_zero_len_refusal(e: &HostError) -> bool {
    matches!(e, HostError::Os { errno, .. } if *errno == libc::EOPNOTSUPP || *errno == libc::EINVAL)
}

fn quick<A: I2cAdapter + ?Sized>(adapter: &mut A, m: &Msg) -> Result<(), Failure> {
    let mut xfer = SmbusXfer::quick(m.read);
    adapter.smbus(m.addr, &mut xfer)?;
    Ok(())
}

/// Formats a group's shape for messages, e.g. `[W1@0x50 R2@0x50]`.
pub fn shape(msgs: &[Msg]) -> String {
    let parts: Vec<String> = msgs
        .iter()
        .map(|m| {
            format!(
                "{}{}@{}",
                if m.read { 'R' } else { 'W' },
                m.buf.len(),
                m.addr
            )
        })
        .collect();
    format!("[{}]", parts.join(" "))
}

#[cfg(target_os = "linux")]
pub mod uapi;
