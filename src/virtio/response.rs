// SPDX-License-Identifier: GPL-2.0-or-later
//! Writing a request's result into its device-writable part.
//!
//! Layout: the read data (reads only), then the status byte, last. The used
//! length reported is the number of bytes written, counted from the start
//! of the part, as the spec counts it ("the device MUST write at least len
//! bytes, beginning at the first device-writable buffer", §2.7.8.2):
//! - success: read data + status (`n + 1`), or the status alone for a write;
//! - failure: every byte before the status zeroed, then the status: the
//!   whole part. The spec says the driver "MUST NOT use buf" of a failed
//!   read; zeroing keeps the used length truthful, leaks no stale data, and
//!   makes QEMU's dirty tracking (which covers the used length) see the
//!   status byte;
//! - failure of a request whose device-writable part is larger than any
//!   request can be (more than 8192 bytes of data): only the status byte
//!   is written, and the used length is 0, because no byte before it was.
//!   Zeroing a part of any claimed size would cost what the guest claims
//!   (an indirect table can alias 1024 descriptors of gigabytes each), and
//!   so would a used length that covers it (QEMU marks that range dirty).
//!   Only a driver that ignores the 8 KiB message limit sends such a
//!   request; Linux and Zephyr never do;
//! - no device-writable byte at all: nothing is written, used length 0.
//!
//! Cost: at most three accesses (data, zeros, status), each one walk over
//! the buffers and at most 8 KiB copied.

use super::{sg::Sg, VIRTIO_I2C_MSG_ERR, VIRTIO_I2C_MSG_OK};
use crate::i2c::MAX_MSG_LEN;

/// What to report for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Success, with the data read for a read request.
    Ok(Option<Vec<u8>>),
    /// Failure.
    Err,
}

/// Zeros for the data part of a failed request.
static ZEROS: [u8; MAX_MSG_LEN] = [0; MAX_MSG_LEN];

/// The used length of a part of `len` bytes written whole. A part written
/// whole is at most `MAX_MSG_LEN + 1` bytes, which always fits.
fn whole(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(0)
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
            return whole(len);
        }
    }
    let zeroed = ZEROS
        .get(..status_at)
        .is_some_and(|z| input.write(0, z).is_ok());
    if input.write(status_at, &[VIRTIO_I2C_MSG_ERR]).is_err() || !zeroed {
        return 0;
    }
    whole(len)
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

    #[test]
    fn an_oversized_part_gets_the_status_byte_alone() {
        // The largest part written whole: 8192 bytes of data and a status.
        let mut b = vec![0xaa; MAX_MSG_LEN + 1];
        assert_eq!(run(&mut b, &Outcome::Err), 8193);
        assert!(b[..MAX_MSG_LEN].iter().all(|&x| x == 0));
        assert_eq!(b[MAX_MSG_LEN], VIRTIO_I2C_MSG_ERR);
        // One byte more: the status byte only, nothing before it.
        let mut b = vec![0xaa; MAX_MSG_LEN + 2];
        assert_eq!(run(&mut b, &Outcome::Err), 0);
        assert!(b[..=MAX_MSG_LEN].iter().all(|&x| x == 0xaa));
        assert_eq!(b[MAX_MSG_LEN + 1], VIRTIO_I2C_MSG_ERR);
    }
}
