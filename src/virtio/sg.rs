// SPDX-License-Identifier: GPL-2.0-or-later
//! Scatter-gather access to a list of guest buffers.
//!
//! A virtqueue element's device-readable (or device-writable) part is a list
//! of buffers; the spec forbids assuming any particular split ("the device
//! MUST NOT make assumptions about the particular arrangement of
//! descriptors", §2.7.4). [`Sg`] treats the list as one byte stream and
//! reaches it only through `vm_memory`'s volatile accessors.

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
}

impl<'s, 'a> Sg<'s, 'a> {
    /// Wraps `slices`.
    pub fn new(slices: &'s [VolatileSlice<'a>]) -> Self {
        Self { slices }
    }

    /// Total length, saturating (a list that overflows `usize` cannot be
    /// addressed past `usize::MAX` anyway).
    pub fn len(&self) -> usize {
        self.slices
            .iter()
            .fold(0usize, |a, s| a.saturating_add(s.len()))
    }

    /// Whether the stream is empty.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check(&self, offset: usize, len: usize) -> Result<(), SgError> {
        let total = self.len();
        match offset.checked_add(len) {
            Some(end) if end <= total => Ok(()),
            _ => Err(SgError { offset, len, total }),
        }
    }

    /// Visits the pieces of `[offset, offset + len)`: `f(slice, slice_offset,
    /// stream_offset_relative, n)`.
    fn walk(
        &self,
        mut offset: usize,
        len: usize,
        mut f: impl FnMut(&VolatileSlice<'a>, usize, usize, usize) -> Result<(), SgError>,
    ) -> Result<(), SgError> {
        self.check(offset, len)?;
        let mut done = 0;
        for s in self.slices {
            if done == len {
                break;
            }
            if offset >= s.len() {
                offset -= s.len();
                continue;
            }
            let n = (s.len() - offset).min(len - done);
            f(s, offset, done, n)?;
            done += n;
            offset = 0;
        }
        Ok(())
    }

    /// Copies `buf.len()` bytes at `offset` out of guest memory.
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result<(), SgError> {
        let total = self.len();
        let len = buf.len();
        self.walk(offset, len, |s, so, bo, n| {
            let err = SgError { offset, len, total };
            let dst = buf.get_mut(bo..bo + n).ok_or(err.clone())?;
            s.read_slice(dst, so).map_err(|_| err)
        })
    }

    /// Copies `data` into guest memory at `offset`.
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<(), SgError> {
        let total = self.len();
        let len = data.len();
        self.walk(offset, len, |s, so, bo, n| {
            let err = SgError { offset, len, total };
            let src = data.get(bo..bo + n).ok_or(err.clone())?;
            s.write_slice(src, so).map_err(|_| err)
        })
    }

    /// Fills `len` bytes at `offset` with `byte`.
    pub fn fill(&self, offset: usize, len: usize, byte: u8) -> Result<(), SgError> {
        const CHUNK: [u8; 256] = [0; 256];
        let chunk = [byte; 256];
        let src: &[u8] = if byte == 0 { &CHUNK } else { &chunk };
        let mut done = 0;
        while done < len {
            let n = (len - done).min(src.len());
            self.write(offset + done, src.get(..n).unwrap_or_default())?;
            done += n;
        }
        Ok(())
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
        sg.fill(0, 2, 0xee).unwrap();
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
    }
}
