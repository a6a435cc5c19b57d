// SPDX-License-Identifier: GPL-2.0-or-later
//! An adapter over a byte-level bus: QEMU's emulated I2C bus, or the
//! simulation's.
//!
//! QEMU's I2C core drives targets byte by byte (`i2c_start_transfer`,
//! `i2c_send`, `i2c_recv`, `i2c_nack`, `i2c_end_transfer`). [`ByteBus`]
//! is that interface; [`BusAdapter`] runs whole transfers on it:
//!
//! ```text
//! for each message:  START (repeated START after the first) addr R/W
//!                      NACK -> STOP, the message and the rest fail
//!                    write: send each byte; NACK -> STOP, fail
//!                    read:  receive each byte; master NACK after the last
//! STOP
//! ```
//!
//! Unlike i2c-dev, a byte-level bus knows which message failed, so the
//! [`Failure`] it returns counts the messages that completed.

use super::{
    smbus::{self, SmbusXfer},
    Failure, HostError, I2cAdapter,
};
use crate::i2c::{Address, Funcs, Transfer};

/// A byte-level I2C bus, driven as a bus controller would.
pub trait ByteBus: Send {
    /// START (or repeated START) addressed to the 7-bit `addr`; `read` is
    /// the R/W bit. Returns `true` when a target acknowledged.
    fn start(&mut self, addr: u8, read: bool) -> bool;
    /// Sends one byte; returns `true` when the target acknowledged it.
    fn send(&mut self, byte: u8) -> bool;
    /// Receives one byte (the controller acknowledges it).
    fn recv(&mut self) -> u8;
    /// The controller does not acknowledge the last byte received.
    fn nack(&mut self);
    /// STOP: the transfer ends.
    fn stop(&mut self);
}

impl<B: ByteBus + ?Sized> ByteBus for Box<B> {
    fn start(&mut self, addr: u8, read: bool) -> bool {
        (**self).start(addr, read)
    }
    fn send(&mut self, byte: u8) -> bool {
        (**self).send(byte)
    }
    fn recv(&mut self) -> u8 {
        (**self).recv()
    }
    fn nack(&mut self) {
        (**self).nack();
    }
    fn stop(&mut self) {
        (**self).stop();
    }
}

/// Runs whole transfers on a [`ByteBus`].
#[derive(Debug)]
pub struct BusAdapter<B> {
    bus: B,
    name: String,
}

impl<B: ByteBus> BusAdapter<B> {
    /// Wraps `bus`; `name` is used in messages.
    pub fn new(bus: B, name: impl Into<String>) -> Self {
        Self {
            bus,
            name: name.into(),
        }
    }

    /// Runs `t` on the bus.
    fn run(&mut self, t: &mut Transfer) -> Result<(), Failure> {
        for (i, m) in t.msgs_mut().iter_mut().enumerate() {
            let addr = m.addr();
            let nack = || Failure {
                completed: i,
                error: HostError::Nack { addr },
            };
            // A byte-level QEMU bus has 7-bit addresses only (its funcs
            // lack I2C_FUNC_10BIT_ADDR, so `host::transfer` refuses 10-bit
            // messages before they get here).
            let Some(a) = addr.as_seven() else {
                self.bus.stop();
                return Err(nack());
            };
            if !self.bus.start(a, m.is_read()) {
                self.bus.stop();
                return Err(nack());
            }
            if m.is_read() {
                let buf = m.data_mut();
                for b in buf.iter_mut() {
                    *b = self.bus.recv();
                }
                if !buf.is_empty() {
                    self.bus.nack();
                }
            } else {
                for &b in m.data() {
                    if !self.bus.send(b) {
                        self.bus.stop();
                        return Err(nack());
                    }
                }
            }
        }
        self.bus.stop();
        Ok(())
    }
}

impl<B: ByteBus> I2cAdapter for BusAdapter<B> {
    /// Full I2C, 7-bit, zero-length messages included; every SMBus
    /// transaction is run as its I2C messages.
    fn funcs(&self) -> Funcs {
        Funcs(Funcs::I2C | Funcs::SMBUS_ALL_TRANSLATED)
    }

    fn rdwr(&mut self, t: &mut Transfer) -> Result<(), Failure> {
        self.run(t)
    }

    fn smbus(&mut self, addr: Address, xfer: &mut SmbusXfer) -> Result<(), HostError> {
        // A transaction i2c-dev would refuse is refused alike.
        let mut t = smbus::to_msgs(addr, xfer).map_err(|_| HostError::Os {
            op: "I2C_SMBUS",
            adapter: self.name.clone(),
            errno: libc::EINVAL,
        })?;
        self.run(&mut t).map_err(|f| f.error)?;
        smbus::gather(xfer, t.msgs());
        Ok(())
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}
