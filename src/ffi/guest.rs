// SPDX-License-Identifier: GPL-2.0-or-later
//! Guest memory from C: `struct iovec` arrays to [`VolatileSlice`]s.
//!
//! This file holds the crate's only `VolatileSlice::new` call
//! (`slice_of`). Everything above it reaches guest memory through
//! `vm_memory`'s volatile accessors; no Rust reference ever points into
//! guest memory.
//!
//! A request's iovec list is short (QEMU gives one entry per descriptor:
//! header, data, status), so lists of up to [`INLINE`] entries are kept
//! and turned into slices without a heap allocation.

use std::ptr::NonNull;

use vm_memory::VolatileSlice;

/// Entries kept without a heap allocation.
pub const INLINE: usize = 2;

/// The most iovecs one part of a request may have: as many as a virtqueue
/// element can have (QEMU's `VIRTQUEUE_MAX_SIZE`). More is refused before
/// anything is copied.
pub const MAX_IOVECS: usize = 1024;

/// A copy of a C `struct iovec`, kept while a request is outstanding.
///
/// It is `Send` so it can sit in the device's shared state; it is only
/// dereferenced (through [`with_slices`]) by the thread that called into
/// the library, as the C contract of `vi2c_device_push` states.
#[derive(Clone, Copy, Debug)]
pub struct IoVec {
    base: *mut u8,
    len: usize,
}

impl IoVec {
    const EMPTY: Self = Self {
        base: NonNull::dangling().as_ptr(),
        len: 0,
    };
}

// SAFETY: an IoVec is plain data (address and length); the memory it
// describes is only accessed through `with_slices`, whose caller upholds
// the C contract that the memory stays valid and is accessed by one thread
// at a time until the request is completed or reset.
unsafe impl Send for IoVec {}

/// An iovec list, inline when short.
#[derive(Debug)]
pub enum IoVecs {
    /// Up to [`INLINE`] entries.
    Inline([IoVec; INLINE], usize),
    /// More.
    Heap(Vec<IoVec>),
}

impl IoVecs {
    /// The entries.
    pub fn as_slice(&self) -> &[IoVec] {
        match self {
            Self::Inline(v, n) => v.get(..*n).unwrap_or_default(),
            Self::Heap(v) => v,
        }
    }

    /// Total length, saturating.
    pub fn total_len(&self) -> usize {
        self.as_slice()
            .iter()
            .fold(0usize, |a, v| a.saturating_add(v.len))
    }
}

/// Copies a C iovec array.
///
/// # Safety
/// `iov` is NULL with `n == 0`, or valid for reads of `n` iovecs.
pub unsafe fn copy_iovecs(iov: *const libc::iovec, n: usize) -> Result<IoVecs, &'static str> {
    if n == 0 {
        return Ok(IoVecs::Inline([IoVec::EMPTY; INLINE], 0));
    }
    if iov.is_null() {
        return Err("iovec array is NULL");
    }
    if n > MAX_IOVECS {
        return Err("more than 1024 iovecs in one part of a request");
    }
    // SAFETY: the caller guarantees `iov` points to `n` initialised iovecs;
    // the slice does not outlive this call.
    let src = unsafe { std::slice::from_raw_parts(iov, n) };
    let conv = |v: &libc::iovec| {
        if v.iov_base.is_null() {
            // Only an empty entry may have no base.
            (v.iov_len == 0)
                .then_some(IoVec::EMPTY)
                .ok_or("iovec with a NULL base")
        } else {
            Ok(IoVec {
                base: v.iov_base.cast::<u8>(),
                len: v.iov_len,
            })
        }
    };
    if n <= INLINE {
        let mut a = [IoVec::EMPTY; INLINE];
        for (d, s) in a.iter_mut().zip(src) {
            *d = conv(s)?;
        }
        Ok(IoVecs::Inline(a, n))
    } else {
        src.iter()
            .map(conv)
            .collect::<Result<Vec<_>, _>>()
            .map(IoVecs::Heap)
    }
}

/// The single `VolatileSlice::new` call.
///
/// # Safety
/// `v` describes memory valid for reads and writes for `'a` and accessed
/// only volatilely meanwhile (a zero-length entry may point anywhere
/// non-NULL: it is never dereferenced).
unsafe fn slice_of<'a>(v: &IoVec) -> VolatileSlice<'a> {
    // SAFETY: guaranteed by the caller, see the contract above; `base` is
    // never NULL (NULL bases are refused by `copy_iovecs`).
    unsafe { VolatileSlice::new(v.base, v.len) }
}

/// Calls `f` with volatile slices over `iov`, built on the stack when the
/// list is short.
///
/// # Safety
/// Each entry's memory is valid for reads and writes while `f` runs, and
/// is accessed only volatilely (by the guest and through these slices)
/// during that time. The C contract of `vi2c_device_push` passes this on
/// to the caller.
pub unsafe fn with_slices<R>(iov: &IoVecs, f: impl FnOnce(&[VolatileSlice<'_>]) -> R) -> R {
    let list = iov.as_slice();
    if list.len() <= INLINE {
        // SAFETY: zero-length placeholders are never dereferenced.
        let mut a = [IoVec::EMPTY; INLINE].map(|e| unsafe { slice_of(&e) });
        for (d, v) in a.iter_mut().zip(list) {
            // SAFETY: the caller's contract covers every entry.
            *d = unsafe { slice_of(v) };
        }
        f(a.get(..list.len()).unwrap_or_default())
    } else {
        // SAFETY: the caller's contract covers every entry.
        let v: Vec<VolatileSlice<'_>> = list.iter().map(|v| unsafe { slice_of(v) }).collect();
        f(&v)
    }
}

#[cfg(test)]
mod tests {
    use vm_memory::Bytes;

    use super::*;

    fn iov(buf: &mut [u8]) -> libc::iovec {
        libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        }
    }

    #[test]
    fn short_and_long_lists_reach_the_same_memory() {
        let mut bufs: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 3]).collect();
        for n in [0, 1, INLINE, INLINE + 1, 5] {
            let raw: Vec<libc::iovec> = bufs.iter_mut().take(n).map(|b| iov(b)).collect();
            // SAFETY: `raw` describes live buffers of `bufs`.
            let list = unsafe { copy_iovecs(raw.as_ptr(), n) }.unwrap();
            assert_eq!(matches!(list, IoVecs::Inline(..)), n <= INLINE);
            assert_eq!(list.total_len(), 3 * n);
            // SAFETY: the buffers stay alive and unaliased during the call.
            let firsts = unsafe {
                with_slices(&list, |s| {
                    s.iter()
                        .map(|v| {
                            let mut b = [0u8];
                            v.read_slice(&mut b, 0).unwrap();
                            b[0]
                        })
                        .collect::<Vec<u8>>()
                })
            };
            assert_eq!(firsts, (0..u8::try_from(n).unwrap()).collect::<Vec<u8>>());
        }
    }

    #[test]
    fn null_bases_are_refused_unless_empty() {
        let v = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }];
        // SAFETY: a valid one-entry array.
        assert!(unsafe { copy_iovecs(v.as_ptr(), 1) }.is_ok());
        let v = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 1,
        }];
        // SAFETY: as above.
        assert!(unsafe { copy_iovecs(v.as_ptr(), 1) }.is_err());
        // SAFETY: NULL with a count is refused before any read.
        assert!(unsafe { copy_iovecs(std::ptr::null(), 2) }.is_err());
    }
}
