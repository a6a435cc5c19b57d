// SPDX-License-Identifier: GPL-2.0-or-later
//! Writing a request's result into its device-writable part.
//!
//! Layout: the read data (reads only), then the status byte, last. The used
//! length reported is the prefix that was written:
//! - success: read data + status (`n + 1`), or the status alone for a write;
//! - failure: the whole device-writable part, with every byte before the
//!   status zeroed. The spec says the driver "MUST NOT use buf" of a failed
//!   read, and "the device MUST write at least len bytes, beginning at the
//!   first device-writable buffer" (§2.7.8.2); zeroing keeps the used
//!   length truthful, leaks no stale data, and lets QEMU's dirty tracking
//!   see the status byte;
//! - no device-writable byte at all: nothing is written, used length 0.

use super::{sg::Sg, VIRTIO_I2C_MSG_ERR, VIRTIO_I2C_MSG_OK};

/// What to report for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Success, with the data read for a read request.
    Ok(Option<Vec<u8>>),
    /// Failure.
    Err,
}

/// Writes `outcome` into `input` and returns the used length. A success
/// whose data does not exactly fill the space before the status byte
/// degrades to the error layout; if even the status byte cannot be written
/// the used length is 0.
pub fn write(input: &Sg<'_, '_>, outcome: &Outcome) -> u32 {
    let len = input.len();
    let Some(status_at) = len.checked_sub(1) else {
        return 0;
    };
    if let Outcome::Ok(data) = outcome {
        let data = data.as_deref().unwrap_or_default();
        if data.len() == status_at
            && input.write(0, data).is_ok()
            && input.write(status_at, &[VIRTIO_I2C_MSG_OK]).is_ok()
        {
            return u32::try_from(len).unwrap_or(0);
        }
    }
    if input.fill(0, status_at, 0).is_ok() && input.write(status_at, &[VIRTIO_I2C_MSG_ERR]).is_ok()
    {
        return u32::try_from(len).unwrap_or(0);
    }
    0
}

#[cfg(test)]
mod tests {
    use vm_memory::VolatileSlice;

    use super::*;

    fn run(buf: &mut [u8], o: &Outcome) -> u32 {
        let s = [VolatileSlice::from(buf)];
        write(&Sg::new(&s), o)
    }

    #[test]
    fn layouts() {
        let mut b = [0xaa; 3];
        assert_eq!(run(&mut b, &Outcome::Ok(Some(vec![1, 2]))), 3);
        assert_eq!(b, [1, 2, 0]);
        let mut b = [0xaa; 1];
        assert_eq!(run(&mut b, &Outcome::Ok(None)), 1);
        assert_eq!(b, [0]);
        let mut b = [0xaa; 4];
        assert_eq!(run(&mut b, &Outcome::Err), 4);
        assert_eq!(b, [0, 0, 0, 1]);
        let mut b: [u8; 0] = [];
        assert_eq!(run(&mut b, &Outcome::Err), 0);
        // A data length that does not match degrades to ERR.
        let mut b = [0xaa; 3];
        assert_eq!(run(&mut b, &Outcome::Ok(Some(vec![1]))), 3);
        assert_eq!(b, [0, 0, 1]);
    }
}
