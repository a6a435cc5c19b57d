// SPDX-License-Identifier: GPL-2.0-or-later
//! `vi2c_adapter`: a host adapter handle (Linux i2c-dev, a C byte-level
//! bus such as QEMU's emulated I2C bus, or the simulation).

use std::ffi::{c_char, c_int, c_void};

use super::{boundary, c_str, vi2c_status, write_err};
use crate::{
    host::{
        bus::{BusAdapter, ByteBus},
        linux::{LinuxAdapter, LinuxOptions},
        sim::SimAdapter,
        Failure, HostError, I2cAdapter, SmbusXfer,
    },
    i2c::{Address, Funcs, Transfer},
};

/// Byte-level bus callbacks, as QEMU's I2C core offers them
/// (`i2c_start_transfer`, `i2c_send`, `i2c_recv`, `i2c_nack`,
/// `i2c_end_transfer`). All but `nack` are required.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct vi2c_bus_ops {
    /// START or repeated START to the 7-bit `addr`; returns 0 when a target
    /// acknowledged, non-zero for NACK.
    pub start: Option<unsafe extern "C" fn(opaque: *mut c_void, addr: u8, is_recv: bool) -> c_int>,
    /// Sends a byte; returns 0 on ACK, non-zero on NACK.
    pub send: Option<unsafe extern "C" fn(opaque: *mut c_void, byte: u8) -> c_int>,
    /// Receives a byte.
    pub recv: Option<unsafe extern "C" fn(opaque: *mut c_void) -> u8>,
    /// The controller NACKs the last byte received (may be NULL).
    pub nack: Option<unsafe extern "C" fn(opaque: *mut c_void)>,
    /// STOP.
    pub end: Option<unsafe extern "C" fn(opaque: *mut c_void)>,
}

/// Options of a Linux adapter; negative values keep the kernel's default.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct vi2c_linux_options {
    /// Transfer timeout in milliseconds (`I2C_TIMEOUT`, 10 ms units).
    pub timeout_ms: i32,
    /// Retries on arbitration loss (`I2C_RETRIES`).
    pub retries: i32,
}

pub(crate) struct CBus {
    start: unsafe extern "C" fn(*mut c_void, u8, bool) -> c_int,
    send: unsafe extern "C" fn(*mut c_void, u8) -> c_int,
    recv: unsafe extern "C" fn(*mut c_void) -> u8,
    nack: Option<unsafe extern "C" fn(*mut c_void)>,
    end: unsafe extern "C" fn(*mut c_void),
    opaque: *mut c_void,
}

// SAFETY: a bus adapter is only driven by inline devices and passthrough
// targets, i.e. on the threads that call into the library, as the C
// contract of vi2c_adapter_new_bus requires; `vi2c_device_new` refuses a
// threaded device on a bus adapter.
unsafe impl Send for CBus {}

impl ByteBus for CBus {
    fn start(&mut self, addr: u8, read: bool) -> bool {
        // SAFETY: the callback and opaque come from the C caller of
        // vi2c_adapter_new_bus, who guarantees they stay valid while the
        // adapter lives.
        unsafe { (self.start)(self.opaque, addr, read) == 0 }
    }
    fn send(&mut self, byte: u8) -> bool {
        // SAFETY: as in `start`.
        unsafe { (self.send)(self.opaque, byte) == 0 }
    }
    fn recv(&mut self) -> u8 {
        // SAFETY: as in `start`.
        unsafe { (self.recv)(self.opaque) }
    }
    fn nack(&mut self) {
        if let Some(f) = self.nack {
            // SAFETY: as in `start`.
            unsafe { f(self.opaque) }
        }
    }
    fn stop(&mut self) {
        // SAFETY: as in `start`.
        unsafe { (self.end)(self.opaque) }
    }
}

/// The adapter kinds behind a handle.
pub(crate) enum AnyAdapter {
    Linux(LinuxAdapter),
    Bus(BusAdapter<CBus>),
    Sim(SimAdapter),
}

impl I2cAdapter for AnyAdapter {
    fn funcs(&self) -> Funcs {
        match self {
            Self::Linux(a) => a.funcs(),
            Self::Bus(a) => a.funcs(),
            Self::Sim(a) => a.funcs(),
        }
    }
    fn rdwr(&mut self, t: &mut Transfer) -> Result<(), Failure> {
        match self {
            Self::Linux(a) => a.rdwr(t),
            Self::Bus(a) => a.rdwr(t),
            Self::Sim(a) => a.rdwr(t),
        }
    }
    fn smbus(&mut self, addr: Address, xfer: &mut SmbusXfer) -> Result<(), HostError> {
        match self {
            Self::Linux(a) => a.smbus(addr, xfer),
            Self::Bus(a) => a.smbus(addr, xfer),
            Self::Sim(a) => a.smbus(addr, xfer),
        }
    }
    fn claim(&mut self, addr: Address, force: bool) -> Result<(), HostError> {
        match self {
            Self::Linux(a) => a.claim(addr, force),
            Self::Bus(a) => a.claim(addr, force),
            Self::Sim(a) => a.claim(addr, force),
        }
    }
    fn name(&self) -> String {
        match self {
            Self::Linux(a) => a.name(),
            Self::Bus(a) => a.name(),
            Self::Sim(a) => a.name(),
        }
    }
}

/// A host adapter. Opaque; created by `vi2c_adapter_open_linux`,
/// `vi2c_adapter_new_bus` or `vi2c_adapter_new_sim`; consumed by
/// `vi2c_device_new` or `vi2c_passthrough_new`, or freed with
/// `vi2c_adapter_free`.
pub struct vi2c_adapter {
    pub(crate) inner: AnyAdapter,
}

fn put(out: *mut *mut vi2c_adapter, inner: AnyAdapter) -> vi2c_status {
    let h = Box::into_raw(Box::new(vi2c_adapter { inner }));
    // SAFETY: callers checked `out` for NULL; the C contract makes it valid
    // for one pointer write.
    unsafe { *out = h };
    vi2c_status::Ok
}

/// Opens a Linux i2c-dev adapter. `host` is a path (`/dev/i2c-3`, or a
/// symlink to it), an adapter number (`3`), or an adapter name as in
/// `/sys/bus/i2c/devices/i2c-N/name`. `opts` may be NULL.
///
/// On success `*out` receives a handle the caller owns. On failure a
/// message goes to `err` (may be NULL) and `*out` is untouched.
///
/// # Safety
/// `host` is a NUL-terminated string; `opts` is NULL or valid; `out` is
/// valid for a write; `err` is NULL or valid for `err_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vi2c_adapter_open_linux(
    host: *const c_char,
    opts: *const vi2c_linux_options,
    out: *mut *mut vi2c_adapter,
    err: *mut c_char,
    err_len: usize,
) -> vi2c_status {
    boundary(vi2c_status::Panic, || {
        if host.is_null() || out.is_null() {
            return vi2c_status::NullArgument;
        }
        let fail = |st, msg: &str| {
            // SAFETY: the caller's contract covers `err`/`err_len`.
            unsafe { write_err(err, err_len, msg) };
            st
        };
        // SAFETY: checked non-NULL; the caller guarantees NUL termination.
        let host = match unsafe { c_str(host) } {
            Ok(h) => h,
            Err(m) => return fail(vi2c_status::InvalidArgument, &m),
        };
        // SAFETY: NULL or valid, per the contract.
        let o = unsafe { opts.as_ref() }.copied();
        let options = LinuxOptions {
            timeout_ms: o.and_then(|o| u32::try_from(o.timeout_ms).ok()),
            retries: o.and_then(|o| u32::try_from(o.retries).ok()),
        };
        match LinuxAdapter::open(host, &options) {
            Ok(a) => put(out, AnyAdapter::Linux(a)),
            Err(e) => fail(vi2c_status::from(&e), &e.to_string()),
        }
    })
}

/// Wraps byte-level bus callbacks (QEMU's emulated I2C bus) as an adapter.
/// The callbacks run on the threads that call into the device or target
/// using the adapter; such an adapter cannot serve a threaded device.
/// `name` (may be NULL) is used in messages.
///
/// # Safety
/// `ops` is valid; its callbacks and `opaque` stay valid until the adapter
/// (or the device that consumed it) is freed; `name` is NULL or a
/// NUL-terminated string; `out` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn vi2c_adapter_new_bus(
    ops: *const vi2c_bus_ops,
    opaque: *mut c_void,
    name: *const c_char,
    out: *mut *mut vi2c_adapter,
) -> vi2c_status {
    boundary(vi2c_status::Panic, || {
        if ops.is_null() || out.is_null() {
            return vi2c_status::NullArgument;
        }
        // SAFETY: checked non-NULL; valid per the contract.
        let ops = unsafe { *ops };
        let (Some(start), Some(send), Some(recv), Some(end)) =
            (ops.start, ops.send, ops.recv, ops.end)
        else {
            return vi2c_status::NullArgument;
        };
        let name = if name.is_null() {
            "emulated I2C bus".to_owned()
        } else {
            // SAFETY: non-NULL and NUL-terminated per the contract.
            match unsafe { c_str(name) } {
                Ok(n) => n.to_owned(),
                Err(_) => return vi2c_status::InvalidArgument,
            }
        };
        let bus = CBus {
            start,
            send,
            recv,
            nack: ops.nack,
            end,
            opaque,
        };
        put(out, AnyAdapter::Bus(BusAdapter::new(bus, name)))
    })
}

/// Creates a simulated bus from a spec such as
/// `eeprom@0x50,regs@0x48,smbus-only` (for tests and demonstrations).
///
/// # Safety
/// `spec` is a NUL-terminated string; `out` is valid for a write; `err` is
/// NULL or valid for `err_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vi2c_adapter_new_sim(
    spec: *const c_char,
    out: *mut *mut vi2c_adapter,
    err: *mut c_char,
    err_len: usize,
) -> vi2c_status {
    boundary(vi2c_status::Panic, || {
        if spec.is_null() || out.is_null() {
            return vi2c_status::NullArgument;
        }
        // SAFETY: checked non-NULL; NUL-terminated per the contract.
        let r = unsafe { c_str(spec) }
            .and_then(|s| SimAdapter::from_spec(s).map_err(|e| e.to_string()));
        match r {
            Ok(sim) => put(out, AnyAdapter::Sim(sim)),
            Err(m) => {
                // SAFETY: the caller's contract covers `err`/`err_len`.
                unsafe { write_err(err, err_len, &m) };
                vi2c_status::InvalidArgument
            }
        }
    })
}

/// The adapter's functionality bits (`I2C_FUNC_*`); 0 for NULL.
///
/// # Safety
/// `adapter` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vi2c_adapter_funcs(adapter: *const vi2c_adapter) -> u64 {
    boundary(0, || {
        // SAFETY: NULL or a live handle per the contract; only read.
        unsafe { adapter.as_ref() }.map_or(0, |a| a.inner.funcs().0)
    })
}

/// Frees an adapter that was not consumed. NULL is a no-op.
///
/// # Safety
/// `adapter` is NULL or a handle not yet freed or consumed.
#[no_mangle]
pub unsafe extern "C" fn vi2c_adapter_free(adapter: *mut vi2c_adapter) {
    boundary((), || {
        if !adapter.is_null() {
            // SAFETY: the handle came from Box::into_raw and is freed once.
            drop(unsafe { Box::from_raw(adapter) });
        }
    })
}

/// The common start of the constructors that consume an adapter: takes the
/// adapter first (it is consumed even when the call fails), then checks
/// `cfg` and `out` for NULL and copies the configuration.
///
/// # Safety
/// `adapter` is NULL or a live handle that the caller gives up; `cfg` is
/// NULL or valid for a read.
pub(crate) unsafe fn take_with_config<C: Copy, O>(
    adapter: *mut vi2c_adapter,
    cfg: *const C,
    out: *mut O,
) -> Result<(AnyAdapter, C), vi2c_status> {
    if adapter.is_null() {
        return Err(vi2c_status::NullArgument);
    }
    // SAFETY: per the contract, the handle came from Box::into_raw and is
    // not used by the caller afterwards.
    let adapter = unsafe { Box::from_raw(adapter) }.inner;
    if cfg.is_null() || out.is_null() {
        return Err(vi2c_status::NullArgument);
    }
    // SAFETY: checked non-NULL; valid per the contract.
    Ok((adapter, unsafe { *cfg }))
}
