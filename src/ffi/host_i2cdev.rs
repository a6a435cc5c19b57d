// SPDX-License-Identifier: GPL-2.0-or-later
//! `vi2c_host_i2cdev`: the host-i2cdev target (see
//! `crate::host_i2cdev`). Driven synchronously from QEMU's I2C target
//! callbacks (`event`, `send`, `recv`) and its reset.

use std::{
    ffi::{c_char, c_int, c_void},
    sync::Mutex,
};

use super::{
    adapter::{take_with_config, vi2c_adapter},
    boundary, call,
    capture::{self, vi2c_capture},
    handle, lock,
    log::{vi2c_log_fn, vi2c_log_kind, Logger, Opaque},
    vi2c_status, CallError, Defaults,
};
use crate::{
    capture::Tap,
    host::{Adapter, I2cAdapter},
    host_i2cdev::{Event, HostI2cDev},
    i2c::Address,
    policy::ReadOnly,
};

/// QEMU I2C target events, passed to `vi2c_host_i2cdev_event` as
/// `uint32_t`. Values are fixed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum vi2c_event {
    /// `I2C_START_SEND`.
    StartSend = 0,
    /// `I2C_START_RECV`.
    StartRecv = 1,
    /// `I2C_FINISH`.
    Finish = 2,
    /// `I2C_NACK`.
    Nack = 3,
}

/// host-i2cdev configuration.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct vi2c_host_i2cdev_config {
    /// The client's address on the host adapter.
    pub host_address: u16,
    /// 1: `host_address` is a 10-bit address; 0: a 7-bit one.
    pub ten_bit: u8,
    /// 1: take an address bound to a kernel driver anyway; 0: refuse it.
    pub force: u8,
    /// 0: forward every write. 1 or 2: read-only, forward writes only as
    /// the register pointer of a read, of at most that many bytes (the
    /// client's register address width), then a repeated START to read.
    pub read_only: u8,
    /// Bytes read ahead at a read START (1-8192).
    pub prefetch: u32,
    /// Called with a message when something goes wrong (a host error, a
    /// NACK of the client, a guest mistake), on the thread that made the
    /// call. May be NULL.
    pub log: vi2c_log_fn,
    /// Passed to `log`.
    pub opaque: *mut c_void,
    /// Records every transfer forwarded to the host (with the host
    /// address) and every write refused by `read_only` into this capture;
    /// NULL: no capture. The target keeps its own reference.
    pub capture: *const vi2c_capture,
    /// The bus number of the target's records in the capture (0-127).
    pub capture_bus: u8,
}

/// A host-i2cdev target. Opaque; created by `vi2c_host_i2cdev_new`, freed
/// by `vi2c_host_i2cdev_free`.
pub struct vi2c_host_i2cdev {
    inner: Mutex<HostI2cDev<Adapter>>,
    logger: Logger,
    capture: Option<Tap>,
}

impl vi2c_host_i2cdev {
    /// Runs `f` on the state machine, then logs what went wrong in it.
    fn with<R>(&self, f: impl FnOnce(&mut HostI2cDev<Adapter>) -> R) -> R {
        let mut t = lock(&self.inner);
        let r = f(&mut t);
        let error = t.take_error();
        drop(t);
        if let Some(e) = error {
            let kind = if e.is_nack() {
                vi2c_log_kind::Nack
            } else if e.is_guest_error() {
                vi2c_log_kind::GuestError
            } else {
                vi2c_log_kind::HostError
            };
            self.logger.log(kind, &e.to_string());
        }
        if let Some(n) = self.capture.as_ref().and_then(Tap::take_notice) {
            self.logger.log(vi2c_log_kind::HostError, &n);
        }
        r
    }
}

/// Creates a host-i2cdev target for one client of `adapter`, which it
/// always consumes. Claims the client address.
///
/// # Safety
/// `cfg` is NULL or valid, its `log` and `opaque` valid until
/// `vi2c_host_i2cdev_free`, its `capture` NULL or a live handle during
/// the call; `adapter` is NULL or a live handle; `out` is
/// NULL or valid for a write; `err` is NULL or valid for writes of
/// `err_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vi2c_host_i2cdev_new(
    cfg: *const vi2c_host_i2cdev_config,
    adapter: *mut vi2c_adapter,
    out: *mut *mut vi2c_host_i2cdev,
    err: *mut c_char,
    err_len: usize,
) -> vi2c_status {
    // SAFETY: the caller's contract covers every pointer.
    unsafe {
        call(err, err_len, || {
            let (mut adapter, cfg) = take_with_config(adapter, cfg, out)?;
            let ten_bit = CallError::flag("ten_bit", cfg.ten_bit)?;
            let force = CallError::flag("force", cfg.force)?;
            let read_only = match cfg.read_only {
                0 => None,
                n => Some(ReadOnly::with_pointer_len(usize::from(n)).ok_or_else(|| {
                    CallError::invalid(format!(
                        "read_only is {n}: 0 (writable), 1 or 2 (the pointer width) expected"
                    ))
                })?),
            };
            let addr = if ten_bit {
                Address::ten(cfg.host_address)
            } else {
                u8::try_from(cfg.host_address).ok().and_then(Address::seven)
            }
            .ok_or_else(|| {
                CallError::invalid(format!(
                    "host address {:#x} is not a {} address",
                    cfg.host_address,
                    if ten_bit { "10-bit" } else { "7-bit" }
                ))
            })?;
            let prefetch = usize::try_from(cfg.prefetch).unwrap_or(usize::MAX);
            let tap = capture::tap(cfg.capture, cfg.capture_bus)?;
            adapter
                .claim(addr, force)
                .map_err(|e| CallError::from(&e))?;
            let mut inner = HostI2cDev::new(adapter, addr, prefetch, read_only)
                .map_err(|e| CallError::invalid(e.to_string()))?;
            inner.set_capture(tap.clone());
            *out = Box::into_raw(Box::new(vi2c_host_i2cdev {
                inner: Mutex::new(inner),
                logger: Logger::new(cfg.log, Opaque(cfg.opaque)),
                capture: tap,
            }));
            Ok(())
        })
    }
}

/// Runs `f` on a live handle; NULL and panics give the return type's
/// defaults.
///
/// # Safety
/// `t` is NULL or a live handle.
unsafe fn with<R: Defaults>(
    t: *const vi2c_host_i2cdev,
    f: impl FnOnce(&vi2c_host_i2cdev) -> R,
) -> R {
    boundary(|| {
        // SAFETY: NULL or a live handle per the callers' contracts.
        match unsafe { handle(t) } {
            Some(t) => f(t),
            None => R::NULL,
        }
    })
}

/// Handles an `I2C_*` event (a `vi2c_event` value). Returns 0 to
/// acknowledge a START, non-zero to NACK it (unknown events NACK).
///
/// # Safety
/// `t` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vi2c_host_i2cdev_event(t: *const vi2c_host_i2cdev, event: u32) -> c_int {
    let ev = match event {
        e if e == vi2c_event::StartSend as u32 => Event::StartSend,
        e if e == vi2c_event::StartRecv as u32 => Event::StartRecv,
        e if e == vi2c_event::Finish as u32 => Event::Finish,
        e if e == vi2c_event::Nack as u32 => Event::Nack,
        _ => return 1,
    };
    // SAFETY: the caller's contract.
    unsafe { with(t, |t| t.with(|s| c_int::from(s.event(ev).is_err()))) }
}

/// A byte written by the controller; 0 acknowledges, non-zero NACKs.
///
/// # Safety
/// `t` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vi2c_host_i2cdev_send(t: *const vi2c_host_i2cdev, byte: u8) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { with(t, |t| t.with(|s| c_int::from(s.send(byte).is_err()))) }
}

/// A byte for the controller (0xff when nothing can be read).
///
/// # Safety
/// `t` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vi2c_host_i2cdev_recv(t: *const vi2c_host_i2cdev) -> u8 {
    // SAFETY: the caller's contract.
    unsafe { with(t, |t| t.with(HostI2cDev::recv)) }
}

/// Device reset: drops every buffered write and prefetched byte, so that
/// nothing the guest sent before the reset reaches the host after it.
///
/// # Safety
/// `t` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vi2c_host_i2cdev_reset(t: *const vi2c_host_i2cdev) {
    // SAFETY: the caller's contract.
    unsafe { with(t, |t| t.with(HostI2cDev::reset)) }
}

/// Frees a host-i2cdev target and releases its claim. NULL is a no-op.
///
/// # Safety
/// `t` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn vi2c_host_i2cdev_free(t: *mut vi2c_host_i2cdev) {
    boundary(|| {
        if !t.is_null() {
            // SAFETY: the handle came from Box::into_raw and is freed once.
            drop(unsafe { Box::from_raw(t) });
        }
    });
}
