// SPDX-License-Identifier: GPL-2.0-or-later
//! `vi2c_device`: the virtio-i2c device (one request queue), pointer
//! plumbing around the virtio layer's `RequestQueue`.
//!
//! The transport (QEMU's C glue) owns the virtqueue; per popped element it
//! calls `vi2c_device_push` with the element's iovecs and a token, then
//! `vi2c_device_flush` when the queue is empty. Results come back through
//! `vi2c_device_complete`, which writes read data and the status byte into
//! the elements' device-writable iovecs and fills an array of
//! `(token, used_len)` for the transport to push afterwards. A device on an
//! adapter whose transfers may block (Linux i2c-dev) runs them on its
//! worker thread and calls `notify` there when results are ready; the
//! transport then calls `vi2c_device_complete` on its own thread.

use std::ffi::{c_char, c_void};

use super::{
    adapter::{take_with_config, vi2c_adapter},
    c_str, call,
    capture::{self, vi2c_capture},
    chain, guest,
    guest::IoVecs,
    handle,
    log::{vi2c_log_fn, vi2c_log_kind, Logger, Opaque},
    vi2c_status, CallError, Defaults,
};
use crate::{
    capture::Tap,
    host::{Adapter, I2cAdapter},
    policy::Policy,
    virtio::{
        self,
        group::GroupError,
        queue::{Element, Execution, RequestQueue},
        sg::Sg,
    },
};

/// Device configuration.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct vi2c_device_config {
    /// Allowed guest addresses and remaps (`0x50,0x52-0x53,0x60=0x61`);
    /// NULL allows every non-reserved 7-bit address unchanged.
    pub address: *const c_char,
    /// 1: take addresses bound to a kernel driver anyway; 0: refuse them.
    pub force: u8,
    /// 1: refuse drivers that do not negotiate
    /// `VIRTIO_I2C_F_ZERO_LENGTH_REQUEST`, as the spec says; 0: accept them
    /// and speak their protocol (Linux before 5.16, Zephyr).
    pub require_zero_length: u8,
    /// The most requests outstanding at a time (the virtqueue size),
    /// 1-1024: `vi2c_device_push` refuses more (`VI2C_STATUS_QUEUE_FULL`).
    pub queue_size: u32,
    /// Called on the device's worker thread when results are ready.
    /// Required when the adapter's transfers may block (a Linux adapter);
    /// unused otherwise (results are ready when push or flush returns).
    pub notify: Option<unsafe extern "C" fn(opaque: *mut c_void)>,
    /// Called with a message for each failed group, on the thread that
    /// calls `vi2c_device_complete`. May be NULL.
    pub log: vi2c_log_fn,
    /// Passed to `notify` and `log`.
    pub opaque: *mut c_void,
    /// Records every group (each message with its guest address,
    /// direction, data and outcome) into this capture; NULL: no capture.
    /// The device keeps its own reference: the caller may free its handle
    /// once the device is created.
    pub capture: *const vi2c_capture,
    /// The bus number of the device's records in the capture (0-127;
    /// Wireshark shows `I2C-<n>`), to tell devices sharing one file apart.
    pub capture_bus: u8,
}

/// One completed request: the token given to `vi2c_device_push` and the
/// number of bytes written into its device-writable part.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct vi2c_completion {
    /// The request's token.
    pub token: u64,
    /// Bytes written into its device-writable part.
    pub used_len: u32,
}

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

/// A virtio-i2c device. Opaque; created by `vi2c_device_new`, freed by
/// `vi2c_device_free`.
pub struct vi2c_device {
    queue: RequestQueue<GuestElement, Adapter>,
    logger: Logger,
    /// The device's capture, to log why it stopped.
    capture: Option<Tap>,
}

impl vi2c_device {
    fn log_group_error(&self, e: &GroupError) {
        let kind = if e.is_guest_error() {
            vi2c_log_kind::GuestError
        } else if e.is_nack() || matches!(e, GroupError::PreviousPartFailed) {
            vi2c_log_kind::Nack
        } else {
            vi2c_log_kind::HostError
        };
        self.logger.log(kind, &chain(e));
    }

    /// Logs, once per capture, why the capture stopped.
    fn log_capture_notice(&self) {
        if let Some(n) = self.capture.as_ref().and_then(Tap::take_notice) {
            self.logger.log(vi2c_log_kind::HostError, &n);
        }
    }
}

/// The device behind a handle pointer, for the functions that report a
/// NULL one as an error.
///
/// # Safety
/// `dev` is NULL or a live handle.
unsafe fn device<'a>(dev: *const vi2c_device) -> Result<&'a vi2c_device, CallError> {
    // SAFETY: the caller's contract.
    unsafe { handle(dev) }.ok_or_else(|| CallError::null("dev"))
}

/// Creates a device on `adapter`, which it always consumes (also on
/// failure). Claims every host address of `cfg->address` on the adapter.
/// A Linux adapter is run on a worker thread (`cfg->notify` required); a
/// bus adapter inline.
///
/// # Safety
/// `cfg` is NULL or valid and its strings NUL-terminated; its callbacks
/// and opaque stay valid until `vi2c_device_free`; its `capture` is NULL
/// or a live handle during the call; `adapter` is NULL or a
/// live handle; `out` is NULL or valid for a write; `err` is NULL or valid
/// for writes of `err_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vi2c_device_new(
    cfg: *const vi2c_device_config,
    adapter: *mut vi2c_adapter,
    out: *mut *mut vi2c_device,
    err: *mut c_char,
    err_len: usize,
) -> vi2c_status {
    // SAFETY: the caller's contract covers every pointer.
    unsafe {
        call(err, err_len, || {
            let (mut adapter, cfg) = take_with_config(adapter, cfg, out)?;
            let force = CallError::flag("force", cfg.force)?;
            let require_zero_length =
                CallError::flag("require_zero_length", cfg.require_zero_length)?;
            let max_outstanding = usize::try_from(cfg.queue_size)
                .ok()
                .filter(|n| (1..=guest::MAX_IOVECS).contains(n))
                .ok_or_else(|| {
                    CallError::invalid(format!("queue_size={} must be 1-1024", cfg.queue_size))
                })?;
            let tap = capture::tap(cfg.capture, cfg.capture_bus)?;
            let policy = if cfg.address.is_null() {
                Policy::AllowAll7Bit
            } else {
                Policy::parse(c_str(cfg.address, "address")?)
                    .map_err(|e| CallError::invalid(e.to_string()))?
            };
            for a in policy.host_addresses() {
                adapter.claim(a, force).map_err(|e| CallError::from(&e))?;
            }
            let execution = if adapter.may_block() {
                let notify = cfg.notify.ok_or_else(|| {
                    CallError::null("notify (required with an adapter that runs on a worker)")
                })?;
                let opaque = Opaque(cfg.opaque);
                Execution::Worker(Box::new(move || {
                    let o = opaque;
                    // SAFETY: callback and opaque are valid until
                    // vi2c_device_free, which waits for the worker first.
                    notify(o.0);
                }))
            } else {
                Execution::Inline
            };
            let queue = RequestQueue::new(
                adapter,
                policy,
                require_zero_length,
                max_outstanding,
                execution,
            )
            .map_err(|e| CallError::new(vi2c_status::Thread, chain(&e)))?;
            queue.set_capture(tap.clone());
            let dev = Box::new(vi2c_device {
                queue,
                logger: Logger::new(cfg.log, Opaque(cfg.opaque)),
                capture: tap,
            });
            *out = Box::into_raw(dev);
            Ok(())
        })
    }
}

/// The feature bits the device offers: `VIRTIO_F_VERSION_1` and
/// `VIRTIO_I2C_F_ZERO_LENGTH_REQUEST`.
#[no_mangle]
pub extern "C" fn vi2c_device_features() -> u64 {
    virtio::DEVICE_FEATURES
}

/// Checks the features the driver accepted (all of them may be passed:
/// transport bits 24-49 are ignored), and parses its requests in the
/// protocol they mean from now on: without
/// `VIRTIO_I2C_F_ZERO_LENGTH_REQUEST`, the protocol as first merged (a
/// message's direction is that of its buffer, no zero-length messages).
/// Such a driver is refused (`VI2C_STATUS_FEATURES_REFUSED`) when the
/// device was created with `require_zero_length`; so is a device-type bit
/// the device did not offer. A refused driver's requests all fail until
/// this is called again: the caller refuses `FEATURES_OK`, but a legacy
/// transport has none, and a driver may go on regardless. Call it on
/// every change of the driver's features, a reset's included (QEMU's
/// `set_features` callback). Until it is first called, requests are parsed
/// in the current protocol.
///
/// # Safety
/// `dev` is NULL or a live handle; `err` is NULL or valid for writes of
/// `err_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vi2c_device_set_features(
    dev: *const vi2c_device,
    features: u64,
    err: *mut c_char,
    err_len: usize,
) -> vi2c_status {
    // SAFETY: the caller's contract covers every pointer.
    unsafe {
        call(err, err_len, || {
            device(dev)?
                .queue
                .set_features(features)
                .map_err(|e| CallError::new(vi2c_status::FeaturesRefused, e.to_string()))
        })
    }
}

/// Accepts one request (one virtqueue element): `out_sg` is its
/// device-readable part, `in_sg` its device-writable part. The request is
/// parsed now (its data copied); it completes later through
/// `vi2c_device_complete`, or is returned by `vi2c_device_reset`.
///
/// Returns `VI2C_STATUS_OK` when the request was accepted (malformed
/// requests are accepted too: they complete with `VIRTIO_I2C_MSG_ERR`);
/// any other status means the request was not accepted: more iovecs than
/// an element can have (1024 per part), a NULL base, or as many requests
/// outstanding as `queue_size` (`VI2C_STATUS_QUEUE_FULL`).
///
/// # Safety
/// `dev` is NULL or a live handle. The iovec arrays are valid for `out_num`
/// and `in_num` entries (or NULL when 0) during the call. The memory the
/// `in_sg` entries describe stays valid, and is accessed by nobody but the
/// guest and this library, until the token is completed or reset;
/// `vi2c_device_complete` must then be called on a thread allowed to write
/// it. `err` is NULL or valid for writes of `err_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vi2c_device_push(
    dev: *const vi2c_device,
    token: u64,
    out_sg: *const libc::iovec,
    out_num: usize,
    in_sg: *const libc::iovec,
    in_num: usize,
    err: *mut c_char,
    err_len: usize,
) -> vi2c_status {
    // SAFETY: the caller's contract covers every pointer.
    unsafe {
        call(err, err_len, || {
            let dev = device(dev)?;
            let readable = guest::copy_iovecs(out_sg, out_num).map_err(CallError::invalid)?;
            let writable = guest::copy_iovecs(in_sg, in_num).map_err(CallError::invalid)?;
            let elem = GuestElement { token, writable };
            // The out iovecs are valid for reads during this call and
            // accessed only volatilely, per the contract.
            guest::with_slices(&readable, |s| dev.queue.push(elem, &Sg::new(s)))
                .map_err(|(_, full)| CallError::new(vi2c_status::QueueFull, full.to_string()))
        })
    }
}

/// Ends a batch of requests (the virtqueue is empty): a group still open
/// runs as it stands. Call it after the last `vi2c_device_push` of each
/// queue notification. NULL is a no-op.
///
/// # Safety
/// `dev` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vi2c_device_flush(dev: *const vi2c_device) {
    super::boundary(|| {
        // SAFETY: NULL or a live handle per the contract.
        if let Some(d) = unsafe { handle(dev) } {
            d.queue.flush();
        }
    });
}

/// Completes requests whose result is ready, oldest first, at most `cap`:
/// writes each one's read data and status byte into its device-writable
/// part, and its `(token, used_len)` into `out`. Returns how many; call
/// again while it returns `cap`. Logs each failed group through the
/// config's `log`, and why the capture stopped, if it did. Nothing is
/// called back: the transport pushes the elements after this returns.
///
/// # Safety
/// `dev` is NULL or a live handle; `out` is NULL or valid for writes of
/// `cap` entries; see `vi2c_device_push` for the memory of the completed
/// requests.
#[no_mangle]
pub unsafe extern "C" fn vi2c_device_complete(
    dev: *const vi2c_device,
    out: *mut vi2c_completion,
    cap: usize,
) -> usize {
    super::boundary(|| {
        // SAFETY: NULL or a live handle per the contract.
        let Some(dev) = (unsafe { handle(dev) }) else {
            return usize::NULL;
        };
        if out.is_null() || cap == 0 {
            return 0;
        }
        // SAFETY: `out` is valid for writes of `cap` entries per the
        // contract; the slice lives for this call only.
        let out = unsafe { std::slice::from_raw_parts_mut(out, cap) };
        let mut slots = out.iter_mut();
        let mut failed = Vec::new();
        let n = dev.queue.complete_some(
            cap,
            |e, used_len| {
                if let Some(slot) = slots.next() {
                    *slot = vi2c_completion {
                        token: e.token,
                        used_len,
                    };
                }
            },
            |e| failed.push(e.clone()),
        );
        for e in &failed {
            dev.log_group_error(e);
        }
        dev.log_capture_notice();
        n
    })
}

/// Drops every request not yet completed (device reset) and calls
/// `cb(opaque, token)` for each, oldest first; returns how many. Nothing
/// is written to their buffers. A group already running on the host
/// finishes there, but its result is discarded.
///
/// # Safety
/// `dev` is NULL or a live handle; `cb` is NULL or callable with `opaque`.
#[no_mangle]
pub unsafe extern "C" fn vi2c_device_reset(
    dev: *const vi2c_device,
    cb: vi2c_drop_fn,
    opaque: *mut c_void,
) -> usize {
    super::boundary(|| {
        // SAFETY: NULL or a live handle per the contract.
        let Some(dev) = (unsafe { handle(dev) }) else {
            return usize::NULL;
        };
        let elements = dev.queue.reset();
        if let Some(cb) = cb {
            for e in &elements {
                // SAFETY: callback supplied by the caller for this call.
                unsafe { cb(opaque, e.token) };
            }
        }
        elements.len()
    })
}

/// Frees a device. Requests not completed are dropped without a callback
/// (call `vi2c_device_reset` first to get them), and no queued group
/// reaches the host. It does not wait for a group running on the host:
/// the worker ends by itself after that transfer, and releases the adapter
/// and its claims then. `notify` is not called once this returns. NULL is
/// a no-op.
///
/// # Safety
/// `dev` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn vi2c_device_free(dev: *mut vi2c_device) {
    super::boundary(|| {
        if !dev.is_null() {
            // SAFETY: the handle came from Box::into_raw and is freed once.
            drop(unsafe { Box::from_raw(dev) });
        }
    });
}
