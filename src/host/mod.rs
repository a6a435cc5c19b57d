// SPDX-License-Identifier: GPL-2.0-or-later
//! Host side: the [`I2cAdapter`] trait and the transfer strategy above it.
//!
//! An adapter is something that can run I2C transfers: a Linux i2c-dev
//! adapter ([`linux`]), a QEMU emulated bus reached through byte-level
//! callbacks ([`bus`]), or, in tests, a software simulation (`sim`, behind
//! the `test-utils` feature). [`Adapter`] is the one dispatch over them.
//! The trait mirrors
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
#[cfg(any(test, feature = "test-utils"))]
pub mod sim;
pub mod smbus;

use smbus::SmbusXfer;

use crate::i2c::{Address, Funcs, Msg, Transfer};

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

    /// Runs `t` as one combined transfer: START, each message with a
    /// repeated START before the next, one STOP. Read messages are filled in
    /// place. Like `I2C_RDWR`.
    fn rdwr(&mut self, t: &mut Transfer) -> Result<(), Failure>;

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

    /// Whether a transfer may block for long (a real bus, a hung target):
    /// such adapters are run off the caller's thread, on a worker.
    fn may_block(&self) -> bool {
        false
    }
}

impl<A: I2cAdapter + ?Sized> I2cAdapter for Box<A> {
    fn funcs(&self) -> Funcs {
        (**self).funcs()
    }
    fn rdwr(&mut self, t: &mut Transfer) -> Result<(), Failure> {
        (**self).rdwr(t)
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
    fn may_block(&self) -> bool {
        (**self).may_block()
    }
}

/// The adapters there are, behind one type.
pub enum Adapter {
    /// A Linux i2c-dev adapter: its transfers may block.
    Linux(linux::LinuxAdapter),
    /// A byte-level bus (QEMU's emulated I2C bus): run on the caller's
    /// thread, as its device models require.
    Bus(bus::BusAdapter<Box<dyn bus::ByteBus>>),
    /// The simulation (tests, benchmarks, fuzzing).
    #[cfg(any(test, feature = "test-utils"))]
    Sim(sim::SimAdapter),
}

/// Calls `$f` on the adapter inside an [`Adapter`].
macro_rules! dispatch {
    ($self:expr, $a:ident => $f:expr) => {
        match $self {
            Adapter::Linux($a) => $f,
            Adapter::Bus($a) => $f,
            #[cfg(any(test, feature = "test-utils"))]
            Adapter::Sim($a) => $f,
        }
    };
}

impl I2cAdapter for Adapter {
    fn funcs(&self) -> Funcs {
        dispatch!(self, a => a.funcs())
    }
    fn rdwr(&mut self, t: &mut Transfer) -> Result<(), Failure> {
        dispatch!(self, a => a.rdwr(t))
    }
    fn smbus(&mut self, addr: Address, xfer: &mut SmbusXfer) -> Result<(), HostError> {
        dispatch!(self, a => a.smbus(addr, xfer))
    }
    fn claim(&mut self, addr: Address, force: bool) -> Result<(), HostError> {
        dispatch!(self, a => a.claim(addr, force))
    }
    fn name(&self) -> String {
        dispatch!(self, a => a.name())
    }
    fn may_block(&self) -> bool {
        dispatch!(self, a => a.may_block())
    }
}

/// Runs a group of messages on `adapter` as one transfer, choosing
/// `I2C_RDWR`, the zero-length fallback or an SMBus translation (see the
/// module documentation). Nothing reaches the bus when the group is refused.
pub fn transfer<A: I2cAdapter + ?Sized>(adapter: &mut A, t: &mut Transfer) -> Result<(), Failure> {
    let funcs = adapter.funcs();
    if !funcs.has(Funcs::TEN_BIT_ADDR) && t.msgs().iter().any(|m| m.addr().is_ten_bit()) {
        return Err(HostError::TenBitUnsupported {
            adapter: adapter.name(),
        }
        .into());
    }
    if funcs.has(Funcs::I2C) {
        return match adapter.rdwr(t) {
            Err(f) if is_zero_len_refusal(&f.error) && funcs.has(Funcs::SMBUS_QUICK) => {
                match t.msgs() {
                    [m] if m.is_empty() => quick(adapter, m),
                    _ => Err(f),
                }
            }
            other => other,
        };
    }
    let (addr, mut xfer) = smbus::translate(t.msgs(), funcs).map_err(|shape| {
        Failure::from(HostError::NoSmbusEquivalent {
            adapter: adapter.name(),
            shape,
        })
    })?;
    adapter.smbus(addr, &mut xfer)?;
    smbus::scatter(&xfer, t.msgs_mut());
    Ok(())
}

fn is_zero_len_refusal(e: &HostError) -> bool {
    matches!(e, HostError::Os { errno, .. } if *errno == libc::EOPNOTSUPP || *errno == libc::EINVAL)
}

fn quick<A: I2cAdapter + ?Sized>(adapter: &mut A, m: &Msg) -> Result<(), Failure> {
    let mut xfer = SmbusXfer::quick(m.is_read());
    adapter.smbus(m.addr(), &mut xfer)?;
    Ok(())
}
