// SPDX-License-Identifier: GPL-2.0-or-later
//! Scatter-gather access to a list of guest buffers.
//!
//! A virtqueue element's device-readable (or device-writable) part is a list
//! of buffers; the spec forbids assuming any particular split ("the device
//! MUST NOT make assumptions about the particular arrangement of
//! descriptors", §2.7.4). [`Sg`] treats the list as one byte stream and
//! reaches it only through `vm_memory`'s volatile accessors.
//!
//! Cost: the total length is summed once, when the `Sg` is made; each
//! access walks the list once, skipping whole buffers before its offset,
//! and copies exactly the bytes asked for. So an access costs at most one
//! step per buffer plus its own length, whatever length the buffers claim.

use vm_memory::{Bytes, VolatileSlice};

/// A guest-memory access that did not fit the buffers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("guest buffer access of {len} bytes at offset {offset} is out of bounds ({total} bytes)")]
pub struct SgError {
    /// Stream offset of the access.
    pub offset: usize,
    /// Length of the access.
    pub len: usize,
    /// Total length of the stream.
    pub total: usize,
}

/// A list of guest buffers seen as one stream.
#[derive(Clone, Copy, Debug)]
pub struct Sg<'s, 'a> {
    slices: &'s [VolatileSlice<'a>],
    /// Total length, saturating (a list that overflows `usize` cannot be
    /// addressed past `usize::MAX` anyway).
    len: usize,
}

/// Which way a copy goes.
enum Copy<'b> {
    Out(&'b mut [u8]),
    In(&'b [u8]),
}

impl<'s, 'a> Sg<'s, 'a> {
    /// Wraps `slices`.
    pub fn new(slices: &'s [VolatileSlice<'a>]) -> Self {
        let len = slices
            .iter()
            .fold(0usize, |a, s| a.saturating_add(s.len()));
        Self { slices, len }
    }

    /// Total length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the stream is empty.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// One walk over the pieces of `[offset, offset + buf.len())`, copying
    /// each piece.
    fn copy(&self, offset: usize, mut buf: Copy<'_>) -> Result<(), SgError> {
        let len = match &buf {
            Copy::Out(b) => b.len(),
            Copy::In(b) => b.len(),
        };
        let err = SgError {
            offset,
            len,
            total: self.len,
        };
        match offset.checked_add(len) {
            Some(end) if end <= self.len => {}
            _ => return Err(err),
        }
        let mut skip = offset;
        let mut done = 0;
        for s in self.slices {
            if done == len {
                break;
            }
            if skip >= s.len() {
                skip -= s.len();
                continue;
            }
            let n = (s.len() - skip).min(len - done);
            let r = match &mut buf {
                Copy::Out(b) => b
                    .get_mut(done..done + n)
                    .map(|dst| s.read_slice(dst, skip)),
                Copy::In(b) => b.get(done..done + n).map(|src| s.write_slice(src, skip)),
            };
            match r {
                Some(Ok(())) => {}
                _ => return Err(err),
            }
            done += n;
            skip = 0;
        }
        Ok(())
    }

    /// Copies `buf.len()` bytes at `offset` out of guest memory.
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result<(), SgError> {
        self.copy(offset, Copy::Out(buf))
    }

    /// Copies `data` into guest memory at `offset`.
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<(), SgError> {
        self.copy(offset, Copy::In(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_across_buffers() {
        let mut a = vec![1u8, 2, 3];
        let mut b = vec![4u8];
        let mut c = vec![5u8, 6];
        let slices = [
            VolatileSlice::from(&mut a[..]),
            VolatileSlice::from(&mut b[..]),
            VolatileSlice::from(&mut c[..]),
        ];
        let sg = Sg::new(&slices);
        assert_eq!(sg.len(), 6);
        let mut buf = [0u8; 4];
        sg.read(1, &mut buf).unwrap();
        assert_eq!(buf, [2, 3, 4, 5]);
        sg.write(2, &[9, 8, 7]).unwrap();
        sg.write(0, &[0xee, 0xee]).unwrap();
        assert_eq!(
            sg.read(5, &mut [0; 2]),
            Err(SgError {
                offset: 5,
                len: 2,
                total: 6
            })
        );
        assert_eq!(sg.write(usize::MAX, &[1]).unwrap_err().offset, usize::MAX);
        assert_eq!((a, b, c), (vec![0xee, 0xee, 9], vec![8], vec![7, 6]));
    }

    #[test]
    fn empty_buffers_are_skipped() {
        let mut a: Vec<u8> = vec![];
        let mut b = [7u8];
        let slices = [
            VolatileSlice::from(&mut a[..]),
            VolatileSlice::from(&mut b[..]),
        ];
        let sg = Sg::new(&slices);
        let mut x = [0u8];
        sg.read(0, &mut x).unwrap();
        assert_eq!(x, [7]);
        sg.read(1, &mut []).unwrap();
        assert!(!sg.is_empty());
        assert!(Sg::new(&[]).is_empty());
    }
}
