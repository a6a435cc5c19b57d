// SPDX-License-Identifier: GPL-2.0-or-later
//! `vi2c_capture`: a traffic capture file (see `crate::capture` for the
//! format), shared by the devices whose config names it.
//!
//! For a QEMU property `capture=<path>` on each device: open the path
//! (`vi2c_capture_open`), put the handle into the device's config
//! (`capture`, with `capture_bus` as the bus number its records carry),
//! create the device, and free the handle (`vi2c_capture_free`): the
//! device keeps its own reference. Devices that name the same file in one
//! process share one capture, so the glue needs no table of its own.

use std::{ffi::c_char, path::Path, sync::Arc};

use super::{c_str, call, chain, handle, vi2c_status, CallError};
use crate::capture::{Capture, CaptureError, Tap, MAX_BUS};

/// A capture file. Opaque; created by `vi2c_capture_open`, freed by
/// `vi2c_capture_free`; devices created with it keep their own reference.
pub struct vi2c_capture {
    inner: Arc<Capture>,
}

/// Opens a capture file at `path`: created, or truncated if it exists,
/// readable and writable by its owner only (mode 0600). `max_bytes` bounds
/// its size: the capture stops (with a last record saying so, and one
/// message through a device's `log`) before the transfer that would pass
/// it; 0 means no bound. If this process has `path` open as a capture
/// already, that capture is shared: `*out` is a new handle to it (and
/// `max_bytes` must be the same).
///
/// On failure (`VI2C_STATUS_OS_ERROR` when the file cannot be created,
/// `VI2C_STATUS_INVALID_ARGUMENT` for a `max_bytes` too small to hold the
/// file header), a message naming the path goes to `err` and `*out` is
/// untouched.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out` is NULL or valid for
/// a write; `err` is NULL or valid for writes of `err_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vi2c_capture_open(
    path: *const c_char,
    max_bytes: u64,
    out: *mut *mut vi2c_capture,
    err: *mut c_char,
    err_len: usize,
) -> vi2c_status {
    // SAFETY: the caller's contract covers every pointer.
    unsafe {
        call(err, err_len, || {
            let path = c_str(path, "path")?;
            if out.is_null() {
                return Err(CallError::null("out"));
            }
            if path.is_empty() {
                return Err(CallError::invalid("the capture path is empty"));
            }
            let inner = Capture::open(Path::new(path), max_bytes).map_err(|e| match e {
                CaptureError::Create { .. } => CallError::new(vi2c_status::OsError, chain(&e)),
                CaptureError::TooSmall { .. } | CaptureError::Mismatch { .. } => {
                    CallError::invalid(e.to_string())
                }
            })?;
            *out = Box::into_raw(Box::new(vi2c_capture { inner }));
            Ok(())
        })
    }
}

/// Frees the caller's handle of a capture. The file is closed when the
/// last device using it is freed too. NULL is a no-op.
///
/// # Safety
/// `capture` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn vi2c_capture_free(capture: *mut vi2c_capture) {
    super::boundary(|| {
        if !capture.is_null() {
            // SAFETY: the handle came from Box::into_raw and is freed once.
            drop(unsafe { Box::from_raw(capture) });
        }
    });
}

/// A device's tap of the capture its config names (`None` for NULL).
///
/// # Safety
/// `capture` is NULL or a live handle.
pub(crate) unsafe fn tap(capture: *const vi2c_capture, bus: u8) -> Result<Option<Tap>, CallError> {
    // SAFETY: the caller's contract.
    let Some(c) = (unsafe { handle(capture) }) else {
        return Ok(None);
    };
    Tap::new(Arc::clone(&c.inner), bus)
        .map(Some)
        .ok_or_else(|| CallError::invalid(format!("capture_bus={bus} must be 0-{MAX_BUS}")))
}
