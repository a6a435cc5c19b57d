// SPDX-License-Identifier: GPL-2.0-or-later
//! `vi2c_passthrough`: the host-i2cdev target (see
//! [`crate::host_i2cdev`]). Driven synchronously from QEMU's I2C target
//! callbacks (`event`, `send`, `recv`).

use std::ffi::{c_char, c_int};

use super::{
    adapter::{take_with_config, vi2c_adapter, AnyAdapter},
    boundary, vi2c_status, write_err,
};
use crate::{
    host::I2cAdapter,
    i2c::Address,
    host_i2cdev::{Event, HostI2cDev, TargetError},
};

/// QEMU I2C target events, passed to `vi2c_passthrough_event` as
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

/// HostI2cDev configuration.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct vi2c_passthrough_config {
    /// The client's address on the host adapter.
    pub host_address: u16,
    /// `host_address` is a 10-bit address.
    pub ten_bit: bool,
    /// Bytes read ahead at a read START (1-8192).
    pub prefetch: u32,
    /// Take an address bound to a kernel driver anyway.
    pub force: bool,
}

/// A passthrough target. Opaque; created by `vi2c_passthrough_new`, freed
/// by `vi2c_passthrough_free`.
pub struct vi2c_passthrough {
    inner: HostI2cDev<AnyAdapter>,
}

/// Creates a passthrough target for one client of `adapter`, which it
/// always consumes. Claims the client address.
///
/// # Safety
/// `cfg` is valid; `adapter` is a live handle; `out` is valid for a write;
/// `err` is NULL or valid for `err_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vi2c_passthrough_new(
    cfg: *const vi2c_passthrough_config,
    adapter: *mut vi2c_adapter,
    out: *mut *mut vi2c_passthrough,
    err: *mut c_char,
    err_len: usize,
) -> vi2c_status {
    boundary(vi2c_status::Panic, || {
        // SAFETY: the caller's contract covers `adapter` and `cfg`.
        let (mut adapter, cfg) = match unsafe { take_with_config(adapter, cfg, out) } {
            Ok(v) => v,
            Err(st) => return st,
        };
        let fail = |st, msg: &str| {
            // SAFETY: the caller's contract covers `err`/`err_len`.
            unsafe { write_err(err, err_len, msg) };
            st
        };
        let addr = if cfg.ten_bit {
            Address::ten(cfg.host_address)
        } else {
            u8::try_from(cfg.host_address).ok().and_then(Address::seven)
        };
        let Some(addr) = addr else {
            return fail(
                vi2c_status::InvalidArgument,
                &format!("host address {:#x} is out of range", cfg.host_address),
            );
        };
        let prefetch = usize::try_from(cfg.prefetch).unwrap_or(usize::MAX);
        if let Err(e) = adapter.claim(addr, cfg.force) {
            return fail(vi2c_status::from(&e), &e.to_string());
        }
        match HostI2cDev::new(adapter, addr, prefetch) {
            Ok(inner) => {
                // SAFETY: checked non-NULL, valid for a write.
                unsafe { *out = Box::into_raw(Box::new(vi2c_passthrough { inner })) };
                vi2c_status::Ok
            }
            Err(e) => fail(vi2c_status::InvalidArgument, &e.to_string()),
        }
    })
}

fn with<R: Copy>(
    pt: *mut vi2c_passthrough,
    default: R,
    f: impl FnOnce(&mut HostI2cDev<AnyAdapter>) -> R,
) -> R {
    boundary(default, || {
        // SAFETY: NULL or a live handle per the callers' contracts; the
        // caller does not use it concurrently (QEMU holds its big lock).
        match unsafe { pt.as_mut() } {
            Some(p) => f(&mut p.inner),
            None => default,
        }
    })
}

/// Handles an `I2C_*` event (a `vi2c_event` value). Returns 0 to acknowledge a
/// START, non-zero to NACK it (unknown events NACK).
///
/// # Safety
/// `pt` is NULL or a live handle, not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn vi2c_passthrough_event(pt: *mut vi2c_passthrough, event: u32) -> c_int {
    with(pt, 1, |p| {
        let ev = match event {
            e if e == vi2c_event::StartSend as u32 => Event::StartSend,
            e if e == vi2c_event::StartRecv as u32 => Event::StartRecv,
            e if e == vi2c_event::Finish as u32 => Event::Finish,
            e if e == vi2c_event::Nack as u32 => Event::Nack,
            _ => return 1,
        };
        c_int::from(p.event(ev).is_err())
    })
}

/// A byte written by the controller; 0 acknowledges, non-zero NACKs.
///
/// # Safety
/// `pt` is NULL or a live handle, not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn vi2c_passthrough_send(pt: *mut vi2c_passthrough, byte: u8) -> c_int {
    with(pt, 1, |p| c_int::from(p.send(byte).is_err()))
}

/// A byte for the controller (0xff when nothing can be read).
///
/// # Safety
/// `pt` is NULL or a live handle, not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn vi2c_passthrough_recv(pt: *mut vi2c_passthrough) -> u8 {
    with(pt, 0xff, |p| p.recv())
}

/// Takes the last error: returns its status (`VI2C_STATUS_OK` when there
/// was none) and writes its message into `buf` (may be NULL).
///
/// # Safety
/// `pt` is NULL or a live handle; `buf` is NULL or valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vi2c_passthrough_take_error(
    pt: *mut vi2c_passthrough,
    buf: *mut c_char,
    len: usize,
) -> vi2c_status {
    with(pt, vi2c_status::NullArgument, |p| match p.take_error() {
        Some(e) => {
            // SAFETY: the caller's contract covers `buf`/`len`.
            unsafe { write_err(buf, len, &e.to_string()) };
            match &e {
                TargetError::Host(h) => vi2c_status::from(h),
                TargetError::Limit(_) => vi2c_status::InvalidArgument,
            }
        }
        None => vi2c_status::Ok,
    })
}

/// Frees a passthrough target and releases its claim. NULL is a no-op.
///
/// # Safety
/// `pt` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn vi2c_passthrough_free(pt: *mut vi2c_passthrough) {
    boundary((), || {
        if !pt.is_null() {
            // SAFETY: the handle came from Box::into_raw and is freed once.
            drop(unsafe { Box::from_raw(pt) });
        }
    })
}
