// SPDX-License-Identifier: GPL-2.0-or-later
//! `vi2c_adapter`: a host adapter handle (a Linux i2c-dev adapter, or a C
//! byte-level bus such as QEMU's emulated I2C bus), consumed by the device
//! or host-i2cdev that uses it.

use std::{
    ffi::{c_char, c_int, c_void},
    sync::Mutex,
};

use super::{c_str, call, handle, vi2c_status, CallError};
use crate::host::{
    bus::{BusAdapter, ByteBus},
    linux::{LinuxAdapter, LinuxOptions},
    Adapter, I2cAdapter,
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

/// A byte-level bus reached through C callbacks.
struct CBus {
    start: unsafe extern "C" fn(*mut c_void, u8, bool) -> c_int,
    send: unsafe extern "C" fn(*mut c_void, u8) -> c_int,
    recv: unsafe extern "C" fn(*mut c_void) -> u8,
    nack: Option<unsafe extern "C" fn(*mut c_void)>,
    end: unsafe extern "C" fn(*mut c_void),
    opaque: *mut c_void,
}

// SAFETY: a bus adapter never blocks (`may_block` is false), so devices
// and host-i2cdev run it on the threads that call into the library, which
// is what the C contract of vi2c_adapter_new_bus allows.
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

/// A host adapter. Opaque; created by `vi2c_adapter_open_linux` or
/// `vi2c_adapter_new_bus`; consumed by `vi2c_device_new` or
/// `vi2c_host_i2cdev_new`, or freed with `vi2c_adapter_free`.
pub struct vi2c_adapter {
    inner: Mutex<Adapter>,
}

impl vi2c_adapter {
    fn boxed(inner: Adapter) -> *mut Self {
        Box::into_raw(Box::new(Self {
            inner: Mutex::new(inner),
        }))
    }
}

/// Writes a new handle through `out`.
///
/// # Safety
/// `out` is NULL or valid for a pointer write.
unsafe fn put(out: *mut *mut vi2c_adapter, inner: Adapter) -> Result<(), CallError> {
    if out.is_null() {
        return Err(CallError::null("out"));
    }
    // SAFETY: checked non-NULL; the C contract makes it valid for a write.
    unsafe { *out = vi2c_adapter::boxed(inner) };
    Ok(())
}

/// Opens a Linux i2c-dev adapter. `host` is a path (`/dev/i2c-3`, or a
/// symlink to it), an adapter number (`3`), or an adapter name as in
/// `/sys/bus/i2c/devices/i2c-N/name`. `opts` may be NULL.
///
/// On success `*out` receives a handle the caller owns. On failure a
/// message goes to `err` and `*out` is untouched.
///
/// # Safety
/// `host` is NULL or a NUL-terminated string; `opts` is NULL or valid;
/// `out` is NULL or valid for a write; `err` is NULL or valid for writes
/// of `err_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vi2c_adapter_open_linux(
    host: *const c_char,
    opts: *const vi2c_linux_options,
    out: *mut *mut vi2c_adapter,
    err: *mut c_char,
    err_len: usize,
) -> vi2c_status {
    // SAFETY: the caller's contract covers every pointer.
    unsafe {
        call(err, err_len, || {
            let host = c_str(host, "host")?;
            if out.is_null() {
                return Err(CallError::null("out"));
            }
            let o = opts.as_ref().copied();
            let options = LinuxOptions {
                timeout_ms: o.and_then(|o| u32::try_from(o.timeout_ms).ok()),
                retries: o.and_then(|o| u32::try_from(o.retries).ok()),
            };
            let a = LinuxAdapter::open(host, &options).map_err(|e| CallError::from(&e))?;
            put(out, Adapter::Linux(a))
        })
    }
}

/// Wraps byte-level bus callbacks (QEMU's emulated I2C bus) as an adapter.
/// Such an adapter never blocks: the callbacks run on the threads that
/// call into the device or host-i2cdev using it. `name` (may be NULL) is
/// used in messages.
///
/// # Safety
/// `ops` is NULL or valid; its callbacks and `opaque` stay valid until the
/// adapter (or the object that consumed it) is freed; `name` is NULL or a
/// NUL-terminated string; `out` is NULL or valid for a write; `err` is
/// NULL or valid for writes of `err_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vi2c_adapter_new_bus(
    ops: *const vi2c_bus_ops,
    opaque: *mut c_void,
    name: *const c_char,
    out: *mut *mut vi2c_adapter,
    err: *mut c_char,
    err_len: usize,
) -> vi2c_status {
    // SAFETY: the caller's contract covers every pointer.
    unsafe {
        call(err, err_len, || {
            let ops = *handle(ops).ok_or_else(|| CallError::null("ops"))?;
            let (Some(start), Some(send), Some(recv), Some(end)) =
                (ops.start, ops.send, ops.recv, ops.end)
            else {
                return Err(CallError::null("ops->start, send, recv or end"));
            };
            let name = if name.is_null() {
                "emulated I2C bus".to_owned()
            } else {
                c_str(name, "name")?.to_owned()
            };
            let bus: Box<dyn ByteBus> = Box::new(CBus {
                start,
                send,
                recv,
                nack: ops.nack,
                end,
                opaque,
            });
            put(out, Adapter::Bus(BusAdapter::new(bus, name)))
        })
    }
}

/// Creates a simulated bus from a spec such as
/// `eeprom@0x50,regs@0x48,smbus-only` (tests and benchmarks only: not in
/// the shipped library, nor in its header).
///
/// # Safety
/// As `vi2c_adapter_open_linux`, with `spec` for `host`.
#[cfg(any(test, feature = "test-utils"))]
#[no_mangle]
pub unsafe extern "C" fn vi2c_adapter_new_sim(
    spec: *const c_char,
    out: *mut *mut vi2c_adapter,
    err: *mut c_char,
    err_len: usize,
) -> vi2c_status {
    use crate::host::sim::SimAdapter;
    // SAFETY: the caller's contract covers every pointer.
    unsafe {
        call(err, err_len, || {
            let spec = c_str(spec, "spec")?;
            let sim = SimAdapter::from_spec(spec).map_err(|e| CallError::invalid(e.to_string()))?;
            put(out, Adapter::Sim(sim))
        })
    }
}

/// The adapter's functionality bits (`I2C_FUNC_*`); 0 for NULL.
///
/// # Safety
/// `adapter` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vi2c_adapter_funcs(adapter: *const vi2c_adapter) -> u64 {
    super::boundary(|| {
        // SAFETY: NULL or a live handle per the contract.
        match unsafe { handle(adapter) } {
            Some(a) => super::lock(&a.inner).funcs().0,
            None => 0,
        }
    })
}

/// Frees an adapter that was not consumed. NULL is a no-op.
///
/// # Safety
/// `adapter` is NULL or a handle not yet freed or consumed.
#[no_mangle]
pub unsafe extern "C" fn vi2c_adapter_free(adapter: *mut vi2c_adapter) {
    super::boundary(|| {
        // SAFETY: NULL, or a handle from Box::into_raw, freed once.
        drop(unsafe { take(adapter) });
    });
}

/// Takes the adapter out of its handle, which is freed.
///
/// # Safety
/// `adapter` is NULL or a live handle that the caller gives up.
pub(crate) unsafe fn take(adapter: *mut vi2c_adapter) -> Option<Adapter> {
    if adapter.is_null() {
        return None;
    }
    // SAFETY: per the contract, the handle came from Box::into_raw and is
    // not used by the caller afterwards.
    let b = unsafe { Box::from_raw(adapter) };
    Some(b.inner.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// The common start of the constructors that consume an adapter: takes the
/// adapter first (it is consumed even when the call fails), then copies the
/// configuration and checks the out-parameter.
///
/// # Safety
/// `adapter` is NULL or a live handle that the caller gives up; `cfg` is
/// NULL or valid for a read.
pub(crate) unsafe fn take_with_config<C: Copy, O>(
    adapter: *mut vi2c_adapter,
    cfg: *const C,
    out: *mut *mut O,
) -> Result<(Adapter, C), CallError> {
    // SAFETY: the caller's contract.
    let adapter = unsafe { take(adapter) }.ok_or_else(|| CallError::null("adapter"))?;
    // SAFETY: NULL or valid per the contract.
    let cfg = unsafe { handle(cfg) }.ok_or_else(|| CallError::null("cfg"))?;
    if out.is_null() {
        return Err(CallError::null("out"));
    }
    Ok((adapter, *cfg))
}
