// SPDX-License-Identifier: GPL-2.0-or-later
//! `vi2c_device`: the virtio-i2c device (one request queue).
//!
//! The transport (QEMU's C glue) owns the virtqueue; per popped element it
//! calls `vi2c_device_push` with the element's iovecs and a token, then
//! `vi2c_device_flush` when the queue is empty. Results come back through
//! `vi2c_device_complete`, which writes read data and the status byte into
//! the element's device-writable iovecs and hands back `(token, used_len)`
//! for `virtqueue_push`. A threaded device calls `notify` on its worker
//! thread when results are ready; the transport then schedules
//! `vi2c_device_complete` on its own thread.

use std::ffi::{c_char, c_void, CString};

use super::{
    adapter::{take_with_config, vi2c_adapter, AnyAdapter},
    boundary, c_str, chain,
    guest::{self, IoVecs},
    vi2c_status, write_err,
};
use crate::{
    host::I2cAdapter,
    policy::Policy,
    virtio::{
        self,
        group::GroupError,
        queue::{Element, Execution, RequestQueue},
        sg::Sg,
    },
};

/// Log message kinds passed to the `log` callback.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum vi2c_log_kind {
    /// The guest sent something malformed or not allowed
    /// (QEMU: `LOG_GUEST_ERROR`).
    GuestError = 1,
    /// The host adapter failed (QEMU: a warning).
    HostError = 2,
    /// A target did not acknowledge: routine during bus scans (QEMU: trace).
    Nack = 3,
}

/// Device configuration.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct vi2c_device_config {
    /// Allowed guest addresses and remaps (`0x50,0x52-0x53,0x60=0x61`);
    /// NULL allows every non-reserved 7-bit address unchanged.
    pub address: *const c_char,
    /// Take addresses bound to a kernel driver anyway.
    pub force: bool,
    /// Accept drivers that do not negotiate
    /// `VIRTIO_I2C_F_ZERO_LENGTH_REQUEST`.
    pub zero_length_optional: bool,
    /// Run groups on a worker thread (host adapters) instead of inline.
    pub threaded: bool,
    /// Threaded devices: called on the worker thread when results are
    /// ready. Required when `threaded`.
    pub notify: Option<unsafe extern "C" fn(opaque: *mut c_void)>,
    /// Called with a message for each failed group, on the thread that
    /// calls `vi2c_device_complete`. May be NULL.
    pub log: Option<unsafe extern "C" fn(opaque: *mut c_void, kind: u32, msg: *const c_char)>,
    /// Passed to `notify` and `log`.
    pub opaque: *mut c_void,
}

/// Called for each completed request: the token given to
/// `vi2c_device_push` and the number of bytes written into its
/// device-writable part.
pub type vi2c_complete_fn =
    Option<unsafe extern "C" fn(opaque: *mut c_void, token: u64, used_len: u32)>;

/// Called for each request dropped by `vi2c_device_reset`.
pub type vi2c_drop_fn = Option<unsafe extern "C" fn(opaque: *mut c_void, token: u64)>;

/// A request as the C transport handed it in: its token and its
/// device-writable iovecs.
pub(crate) struct GuestElement {
    token: u64,
    writable: IoVecs,
}

impl Element for GuestElement {
    fn writable_len(&self) -> usize {
        self.writable.total_len()
    }

    fn with_writable<R>(&self, f: impl FnOnce(&Sg<'_, '_>) -> R) -> R {
        // SAFETY: the contract of vi2c_device_push: the device-writable
        // memory of a request stays valid, and is accessed only by the
        // guest and this library, until the request is completed or
        // reset; completion and reset run on a thread allowed to write it.
        unsafe { guest::with_slices(&self.writable, |s| f(&Sg::new(s))) }
    }
}

#[derive(Clone, Copy)]
struct Opaque(*mut c_void);
// SAFETY: the opaque pointer is only handed back to the caller's own
// callbacks; the C contract of vi2c_device_config says `notify` may run on
// the worker thread with it.
unsafe impl Send for Opaque {}
// SAFETY: as above; the library never dereferences it.
unsafe impl Sync for Opaque {}

/// A virtio-i2c device. Opaque; created by `vi2c_device_new`, freed by
/// `vi2c_device_free`.
pub struct vi2c_device {
    queue: RequestQueue<GuestElement, AnyAdapter>,
    log: Option<unsafe extern "C" fn(*mut c_void, u32, *const c_char)>,
    opaque: Opaque,
}

impl vi2c_device {
    fn log(&self, kind: vi2c_log_kind, msg: &str) {
        if let (Some(f), Ok(m)) = (self.log, CString::new(msg)) {
            // SAFETY: the callback and opaque come from the config the
            // caller promised valid for the device's life; `m` outlives
            // the call.
            unsafe { f(self.opaque.0, kind as u32, m.as_ptr()) };
        }
    }
}

/// Creates a device on `adapter`, which it always consumes (also on
/// failure). Claims every host address of `cfg->address` on the adapter.
///
/// # Safety
/// `cfg` is valid and its strings NUL-terminated; its callbacks and opaque
/// stay valid until `vi2c_device_free`; `adapter` is a live handle; `out`
/// is valid for a write; `err` is NULL or valid for `err_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vi2c_device_new(
    cfg: *const vi2c_device_config,
    adapter: *mut vi2c_adapter,
    out: *mut *mut vi2c_device,
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
        let policy = if cfg.address.is_null() {
            Policy::AllowAll7Bit
        } else {
            // SAFETY: non-NULL and NUL-terminated per the contract.
            match unsafe { c_str(cfg.address) }
                .and_then(|s| Policy::parse(s).map_err(|e| e.to_string()))
            {
                Ok(p) => p,
                Err(m) => return fail(vi2c_status::InvalidArgument, &m),
            }
        };
        for a in policy.host_addresses() {
            if let Err(e) = adapter.claim(a, cfg.force) {
                return fail(vi2c_status::from(&e), &e.to_string());
            }
        }
        let execution = if cfg.threaded {
            if matches!(adapter, AnyAdapter::Bus(_)) {
                return fail(
                    vi2c_status::InvalidArgument,
                    "an emulated-bus adapter runs inline only (threaded must be false)",
                );
            }
            let Some(notify) = cfg.notify else {
                return vi2c_status::NullArgument;
            };
            let opaque = Opaque(cfg.opaque);
            let notify = Box::new(move || {
                let o = opaque;
                // SAFETY: callback and opaque are valid until
                // vi2c_device_free, which joins this thread first.
                unsafe { notify(o.0) }
            });
            Execution::Worker(notify)
        } else {
            Execution::Inline
        };
        let queue = match RequestQueue::new(adapter, policy, cfg.zero_length_optional, execution) {
            Ok(q) => q,
            Err(e) => return fail(vi2c_status::Thread, &chain(&e)),
        };
        let dev = Box::new(vi2c_device {
            queue,
            log: cfg.log,
            opaque: Opaque(cfg.opaque),
        });
        // SAFETY: checked non-NULL, valid for a write per the contract.
        unsafe { *out = Box::into_raw(dev) };
        vi2c_status::Ok
    })
}

/// The feature bits the device offers: `VIRTIO_F_VERSION_1` and
/// `VIRTIO_I2C_F_ZERO_LENGTH_REQUEST`.
#[no_mangle]
pub extern "C" fn vi2c_device_features() -> u64 {
    virtio::DEVICE_FEATURES
}

/// Checks the features the driver accepted (all of them may be passed:
/// transport bits 24-49 are ignored). Without
/// `VIRTIO_I2C_F_ZERO_LENGTH_REQUEST` the driver is refused
/// (`VI2C_STATUS_FEATURES_REFUSED`) unless the device was created with
/// `zero_length_optional`; so is a device-type bit the device did not
/// offer.
///
/// # Safety
/// `dev` is a live handle; `err` is NULL or valid for `err_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vi2c_device_set_features(
    dev: *const vi2c_device,
    features: u64,
    err: *mut c_char,
    err_len: usize,
) -> vi2c_status {
    boundary(vi2c_status::Panic, || {
        // SAFETY: NULL or a live handle per the contract; shared access.
        let Some(dev) = (unsafe { dev.as_ref() }) else {
            return vi2c_status::NullArgument;
        };
        match dev.queue.set_features(features) {
            Ok(()) => vi2c_status::Ok,
            Err(e) => {
                // SAFETY: the caller's contract covers `err`/`err_len`.
                unsafe { write_err(err, err_len, &e.to_string()) };
                vi2c_status::FeaturesRefused
            }
        }
    })
}

/// Accepts one request (one virtqueue element): `out_sg` is its
/// device-readable part, `in_sg` its device-writable part. The request is
/// parsed now (its data copied); it completes later through
/// `vi2c_device_complete`, or is returned by `vi2c_device_reset`.
///
/// Returns `VI2C_STATUS_OK` when the request was accepted (malformed
/// requests are accepted too: they complete with `VIRTIO_I2C_MSG_ERR`);
/// any other status means the request was not accepted.
///
/// # Safety
/// `dev` is a live handle. The iovec arrays are valid for `out_num` and
/// `in_num` entries (or NULL when 0) during the call. The memory the
/// `in_sg` entries describe stays valid, and is accessed by nobody but the
/// guest and this library, until the token is completed or reset;
/// `vi2c_device_complete` must then be called on a thread allowed to write
/// it.
#[no_mangle]
pub unsafe extern "C" fn vi2c_device_push(
    dev: *const vi2c_device,
    token: u64,
    out_sg: *const libc::iovec,
    out_num: usize,
    in_sg: *const libc::iovec,
    in_num: usize,
) -> vi2c_status {
    boundary(vi2c_status::Panic, || {
        // SAFETY: NULL or a live handle per the contract.
        let Some(dev) = (unsafe { dev.as_ref() }) else {
            return vi2c_status::NullArgument;
        };
        // SAFETY: array validity per the contract.
        let (readable, writable) = match unsafe {
            (
                guest::copy_iovecs(out_sg, out_num),
                guest::copy_iovecs(in_sg, in_num),
            )
        } {
            (Ok(o), Ok(i)) => (o, i),
            _ => return vi2c_status::InvalidArgument,
        };
        let elem = GuestElement { token, writable };
        // SAFETY: the out iovecs are valid for reads during this call and
        // accessed only volatilely, per the contract.
        unsafe { guest::with_slices(&readable, |s| dev.queue.push(elem, &Sg::new(s))) };
        vi2c_status::Ok
    })
}

/// Ends a batch of requests (the virtqueue is empty): a group still open
/// runs as it stands. Call it after the last `vi2c_device_push` of each
/// queue notification.
///
/// # Safety
/// `dev` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vi2c_device_flush(dev: *const vi2c_device) -> vi2c_status {
    boundary(vi2c_status::Panic, || {
        // SAFETY: NULL or a live handle per the contract.
        match unsafe { dev.as_ref() } {
            Some(d) => {
                d.queue.flush();
                vi2c_status::Ok
            }
            None => vi2c_status::NullArgument,
        }
    })
}

fn log_group_error(dev: &vi2c_device, e: &GroupError) {
    let kind = if e.is_guest_error() {
        vi2c_log_kind::GuestError
    } else if e.is_nack() || matches!(e, GroupError::PreviousPartFailed) {
        vi2c_log_kind::Nack
    } else {
        vi2c_log_kind::HostError
    };
    dev.log(kind, &chain(e));
}

/// Completes every request whose result is ready, in order: writes its
/// read data and status byte, then calls `cb(opaque, token, used_len)`.
/// Returns the number completed. Logs each failed group through the
/// config's `log`.
///
/// # Safety
/// `dev` is a live handle; `cb` is callable with `opaque`; see
/// `vi2c_device_push` for the memory of the completed requests.
#[no_mangle]
pub unsafe extern "C" fn vi2c_device_complete(
    dev: *const vi2c_device,
    cb: vi2c_complete_fn,
    opaque: *mut c_void,
) -> usize {
    boundary(0, || {
        // SAFETY: NULL or a live handle per the contract.
        let (Some(dev), Some(cb)) = (unsafe { dev.as_ref() }, cb) else {
            return 0;
        };
        // Collect first, call back after: the callbacks may re-enter the
        // device (a virtqueue push can even unplug it).
        let mut done = Vec::new();
        dev.queue.complete(
            |e, used| done.push((e.token, used)),
            |e| log_group_error(dev, e),
        );
        for (token, used) in &done {
            // SAFETY: callback supplied by the caller for this call.
            unsafe { cb(opaque, *token, *used) };
        }
        done.len()
    })
}

/// Drops every request not yet completed (device reset) and calls
/// `cb(opaque, token)` for each, oldest first; returns how many. Nothing
/// is written to their buffers. A group already running on the host
/// finishes there, but its result is discarded.
///
/// # Safety
/// `dev` is a live handle; `cb` is NULL or callable with `opaque`.
#[no_mangle]
pub unsafe extern "C" fn vi2c_device_reset(
    dev: *const vi2c_device,
    cb: vi2c_drop_fn,
    opaque: *mut c_void,
) -> usize {
    boundary(0, || {
        // SAFETY: NULL or a live handle per the contract.
        let Some(dev) = (unsafe { dev.as_ref() }) else {
            return 0;
        };
        let tokens = dev.queue.reset();
        if let Some(cb) = cb {
            for t in &tokens {
                // SAFETY: callback supplied by the caller for this call.
                unsafe { cb(opaque, t.token) };
            }
        }
        tokens.len()
    })
}

/// Frees a device: waits for a running group to finish, then releases the
/// adapter and its claims. Requests not completed are dropped without a
/// callback (call `vi2c_device_reset` first to get them). NULL is a no-op.
///
/// # Safety
/// `dev` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn vi2c_device_free(dev: *mut vi2c_device) {
    boundary((), || {
        if !dev.is_null() {
            // SAFETY: the handle came from Box::into_raw and is freed once.
            drop(unsafe { Box::from_raw(dev) });
        }
    })
}
