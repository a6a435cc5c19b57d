// SPDX-License-Identifier: GPL-2.0-or-later
//! Guest memory from C: `struct iovec` arrays to [`VolatileSlice`]s.
//!
//! This file holds the crate's only `VolatileSlice::new` call. Everything
//! above it reaches guest memory through `vm_memory`'s volatile accessors;
//! no Rust reference ever points into guest memory.

use vm_memory::VolatileSlice;

/// A copy of a C `struct iovec`, kept while a request is outstanding.
///
/// It is `Send` so it can sit in the device's shared state; it is only
/// dereferenced (through [`slices`]) by the thread that called into the
/// library, as the C contract of `vi2c_device_push` states.
#[derive(Clone, Copy, Debug)]
pub struct IoVec {
    base: *mut u8,
    len: usize,
}

// SAFETY: an IoVec is plain data (address and length); the memory it
// describes is only accessed through `slices`, whose caller upholds the C
// contract that the memory stays valid and is accessed by one thread at a
// time until the request is completed or reset.
unsafe impl Send for IoVec {}

/// Copies a C iovec array.
///
/// # Safety
/// `iov` is NULL with `n == 0`, or valid for reads of `n` iovecs.
pub unsafe fn copy_iovecs(iov: *const libc::iovec, n: usize) -> Result<Vec<IoVec>, &'static str> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if iov.is_null() {
        return Err("iovec array is NULL");
    }
    // SAFETY: the caller guarantees `iov` points to `n` initialised iovecs;
    // the slice does not outlive this call.
    let src = unsafe { std::slice::from_raw_parts(iov, n) };
    src.iter()
        .map(|v| {
            if v.iov_base.is_null() && v.iov_len != 0 {
                Err("iovec with a NULL base")
            } else {
                Ok(IoVec {
                    base: v.iov_base.cast::<u8>(),
                    len: v.iov_len,
                })
            }
        })
        .collect()
}

/// Total length of `iov`, saturating.
pub fn total_len(iov: &[IoVec]) -> usize {
    iov.iter().fold(0usize, |a, v| a.saturating_add(v.len))
}

/// Volatile slices over `iov`.
///
/// # Safety
/// Each iovec's memory is valid for reads and writes of its length for
/// `'a`, and is accessed only volatilely (by the guest and through these
/// slices) during that time. The C contract of `vi2c_device_push` passes
/// this on to the caller.
pub unsafe fn slices<'a>(iov: &[IoVec]) -> Vec<VolatileSlice<'a>> {
    iov.iter()
        .filter(|v| v.len != 0)
        // SAFETY: guaranteed by the caller, see the function's contract;
        // zero-length (possibly NULL) entries are skipped above.
        .map(|v| unsafe { VolatileSlice::new(v.base, v.len) })
        .collect()
}
