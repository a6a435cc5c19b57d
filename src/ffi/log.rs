// SPDX-License-Identifier: GPL-2.0-or-later
//! The run-time error channel of both devices: a `log` callback with a
//! kind and a message.
//!
//! Host errors are rate-limited here, once for every transport: the first
//! [`WARN_FIRST`] are passed on, then every [`WARN_EVERY`]th, so a guest
//! that keeps a broken bus busy cannot flood the host's log. Guest errors
//! and NACKs are passed on as they come (the transport routes them to
//! `LOG_GUEST_ERROR` and trace events, which are off by default).

use std::{
    ffi::{c_char, c_void, CString},
    sync::atomic::{AtomicU64, Ordering},
};

/// Kinds of run-time messages passed to the `log` callback.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum vi2c_log_kind {
    /// The guest sent something malformed or not allowed
    /// (QEMU: `LOG_GUEST_ERROR`).
    GuestError = 1,
    /// The host adapter failed (QEMU: a warning).
    HostError = 2,
    /// A target did not acknowledge: routine during bus scans (QEMU: a
    /// trace event).
    Nack = 3,
}

/// The `log` callback of a device or host-i2cdev configuration:
/// `kind` is a `vi2c_log_kind`, `msg` a NUL-terminated message valid during
/// the call.
pub type vi2c_log_fn =
    Option<unsafe extern "C" fn(opaque: *mut c_void, kind: u32, msg: *const c_char)>;

/// Host errors passed on before rate limiting starts.
pub const WARN_FIRST: u64 = 10;
/// After that, one host error in this many is passed on.
pub const WARN_EVERY: u64 = 1000;

/// A pointer the library only hands back to the caller's callbacks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Opaque(pub(crate) *mut c_void);

// SAFETY: the library never dereferences the pointer; it only passes it
// back to the caller's own callbacks, on the threads their contracts
// name (a device's `notify` runs on its worker thread).
unsafe impl Send for Opaque {}
// SAFETY: as above.
unsafe impl Sync for Opaque {}

/// A `log` callback with its opaque pointer and the rate limit.
#[derive(Debug)]
pub(crate) struct Logger {
    f: vi2c_log_fn,
    opaque: Opaque,
    host_errors: AtomicU64,
}

impl Logger {
    /// A logger calling `f` (may be `None`: nothing is logged).
    pub(crate) fn new(f: vi2c_log_fn, opaque: Opaque) -> Self {
        Self {
            f,
            opaque,
            host_errors: AtomicU64::new(0),
        }
    }

    /// Passes `msg` on, unless it is a host error over the rate limit.
    pub(crate) fn log(&self, kind: vi2c_log_kind, msg: &str) {
        let Some(f) = self.f else {
            return;
        };
        let mut text = msg.replace('\0', " ");
        if kind == vi2c_log_kind::HostError {
            let n = self.host_errors.fetch_add(1, Ordering::Relaxed) + 1;
            if n > WARN_FIRST && n % WARN_EVERY != 0 {
                return;
            }
            if n == WARN_FIRST {
                text.push_str(" (from now on, only every 1000th host error is reported)");
            }
        }
        let Ok(c) = CString::new(text) else {
            return;
        };
        // SAFETY: the callback and opaque come from a configuration whose
        // contract keeps them valid while the object lives; `c` outlives
        // the call.
        unsafe { f(self.opaque.0, kind as u32, c.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use std::{ffi::CStr, sync::Mutex};

    use super::*;

    static SEEN: Mutex<Vec<(u32, String)>> = Mutex::new(Vec::new());

    unsafe extern "C" fn record(_: *mut c_void, kind: u32, msg: *const c_char) {
        // SAFETY: the logger passes a valid NUL-terminated message.
        let m = unsafe { CStr::from_ptr(msg) }
            .to_string_lossy()
            .into_owned();
        SEEN.lock().unwrap().push((kind, m));
    }

    #[test]
    fn host_errors_are_rate_limited_guest_errors_are_not() {
        let l = Logger::new(Some(record), Opaque(std::ptr::null_mut()));
        for i in 0..2500 {
            l.log(vi2c_log_kind::HostError, &format!("h{i}"));
        }
        for _ in 0..20 {
            l.log(vi2c_log_kind::GuestError, "g");
        }
        l.log(vi2c_log_kind::Nack, "n\0with a NUL");
        let seen = std::mem::take(&mut *SEEN.lock().unwrap());
        let hosts: Vec<&str> = seen
            .iter()
            .filter(|(k, _)| *k == 2)
            .map(|(_, m)| m.as_str())
            .collect();
        assert_eq!(hosts.len(), 12);
        assert_eq!(hosts[0], "h0");
        assert_eq!(
            hosts[9],
            "h9 (from now on, only every 1000th host error is reported)"
        );
        assert_eq!(&hosts[10..], ["h999", "h1999"]);
        assert_eq!(seen.iter().filter(|(k, _)| *k == 1).count(), 20);
        assert_eq!(seen.last(), Some(&(3, "n with a NUL".to_owned())));
        // No callback: nothing happens.
        Logger::new(None, Opaque(std::ptr::null_mut())).log(vi2c_log_kind::HostError, "x");
    }
}
