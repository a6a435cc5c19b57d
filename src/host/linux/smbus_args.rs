// SPDX-License-Identifier: GPL-2.0-or-later
//! SMBus argument encoding: [`SmbusXfer`] to the arguments of the
//! `I2C_SMBUS` ioctl and back, exactly as i2c-dev lays them out.

use super::{
    sys::SmbusArgs,
    uapi::{
        i2c_smbus_data, I2C_SMBUS_BLOCK_DATA, I2C_SMBUS_BYTE, I2C_SMBUS_BYTE_DATA,
        I2C_SMBUS_I2C_BLOCK_DATA, I2C_SMBUS_PROC_CALL, I2C_SMBUS_QUICK, I2C_SMBUS_READ,
        I2C_SMBUS_WORD_DATA, I2C_SMBUS_WRITE,
    },
};
use crate::host::smbus::{SmbusData, SmbusSize, SmbusXfer, BLOCK_MAX};

/// The `I2C_SMBUS` arguments for `x`, with their data, exactly as i2c-dev
/// expects them (`drivers/i2c/i2c-dev.c`, `i2cdev_ioctl_smbus`, and
/// `i2c_smbus_xfer_emulated` in `drivers/i2c/i2c-core-smbus.c`):
/// - quick, and send byte (the byte is `command`) carry no data;
/// - byte, word: `data.byte`, `data.word` (host order);
/// - process call goes as a write and returns its word in `data.word`;
/// - block data: `block[0]` = count, data in `block[1..]`;
/// - I2C block data: `block[0]` = length for reads and writes alike, data
///   in `block[1..]`.
///
/// `None` when the transaction is malformed: data of the wrong kind for its
/// size, or a block that is empty or longer than 32 bytes.
pub(super) fn encode(x: &SmbusXfer) -> Option<SmbusArgs> {
    use SmbusSize::*;
    let mut block = [0u8; BLOCK_MAX + 2];
    let (read_write, size, data) = match (x.size, x.read, &x.data) {
        (Quick, read, _) => (rw(read), I2C_SMBUS_QUICK, false),
        (Byte, false, _) => (I2C_SMBUS_WRITE, I2C_SMBUS_BYTE, false),
        (Byte, true, _) => (I2C_SMBUS_READ, I2C_SMBUS_BYTE, true),
        (ByteData, false, SmbusData::Byte(b)) => {
            block[0] = *b;
            (I2C_SMBUS_WRITE, I2C_SMBUS_BYTE_DATA, true)
        }
        (ByteData, true, _) => (I2C_SMBUS_READ, I2C_SMBUS_BYTE_DATA, true),
        (WordData, false, SmbusData::Word(w)) => {
            set_word(&mut block, *w);
            (I2C_SMBUS_WRITE, I2C_SMBUS_WORD_DATA, true)
        }
        (WordData, true, _) => (I2C_SMBUS_READ, I2C_SMBUS_WORD_DATA, true),
        (ProcCall, _, SmbusData::Word(w)) => {
            set_word(&mut block, *w);
            (I2C_SMBUS_WRITE, I2C_SMBUS_PROC_CALL, true)
        }
        (BlockData, false, SmbusData::Block(b)) => {
            set_block(&mut block, b, b.len())?;
            (I2C_SMBUS_WRITE, I2C_SMBUS_BLOCK_DATA, true)
        }
        (BlockData, true, _) => (I2C_SMBUS_READ, I2C_SMBUS_BLOCK_DATA, true),
        (I2cBlockData, false, SmbusData::Block(b)) => {
            set_block(&mut block, b, b.len())?;
            (I2C_SMBUS_WRITE, I2C_SMBUS_I2C_BLOCK_DATA, true)
        }
        (I2cBlockData, true, SmbusData::Block(b)) => {
            set_block(&mut block, &[], b.len())?;
            (I2C_SMBUS_READ, I2C_SMBUS_I2C_BLOCK_DATA, true)
        }
        _ => return None,
    };
    Some(SmbusArgs {
        read_write,
        command: x.command,
        size,
        data: data.then_some(i2c_smbus_data { block }),
    })
}

fn rw(read: bool) -> u8 {
    if read {
        I2C_SMBUS_READ
    } else {
        I2C_SMBUS_WRITE
    }
}

fn set_word(block: &mut [u8; BLOCK_MAX + 2], w: u16) {
    let [a, b] = w.to_ne_bytes();
    block[0] = a;
    block[1] = b;
}

/// `block[0]` = `count` (1..=32), then `data` from `block[1]`.
fn set_block(block: &mut [u8; BLOCK_MAX + 2], data: &[u8], count: usize) -> Option<()> {
    if !(1..=BLOCK_MAX).contains(&count) {
        return None;
    }
    block[0] = u8::try_from(count).ok()?;
    block.get_mut(1..=data.len())?.copy_from_slice(data);
    Some(())
}

/// Copies what a completed `I2C_SMBUS` read (or process call) returned into
/// `x`, as [`encode`] laid it out. Block lengths come from `block[0]`,
/// clamped to 32 bytes, and for an I2C block read to the length asked for.
pub(super) fn decode(args: &SmbusArgs, x: &mut SmbusXfer) {
    use SmbusSize::*;
    let Some(data) = &args.data else {
        return;
    };
    // SAFETY: `encode` created every `i2c_smbus_data` through its `block`
    // field, so all 34 bytes are initialised (the kernel writes only within
    // the union), and a `u8` array has no invalid values.
    let block = unsafe { data.block };
    let [b0, b1, ..] = block;
    let payload = |n: usize| block.get(1..=n).unwrap_or_default().to_vec();
    let count = usize::from(b0).min(BLOCK_MAX);
    match (x.size, x.read) {
        (Byte | ByteData, true) => x.data = SmbusData::Byte(b0),
        (WordData, true) | (ProcCall, _) => x.data = SmbusData::Word(u16::from_ne_bytes([b0, b1])),
        (BlockData, true) => x.data = SmbusData::Block(payload(count)),
        (I2cBlockData, true) => {
            if let SmbusData::Block(b) = &x.data {
                x.data = SmbusData::Block(payload(count.min(b.len())));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (read_write, command, size, data bytes or None for NULL)
    fn encoded(x: &SmbusXfer) -> Option<(u8, u8, u32, Option<Vec<u8>>)> {
        let args = encode(x)?;
        let data = args.data.map(|d| {
            // SAFETY: encode() builds the union through `block`: all of it
            // is initialised.
            unsafe { d.block }.to_vec()
        });
        Some((args.read_write, args.command, args.size, data))
    }

    fn bytes(prefix: &[u8]) -> Option<Vec<u8>> {
        let mut v = vec![0; BLOCK_MAX + 2];
        v[..prefix.len()].copy_from_slice(prefix);
        Some(v)
    }

    #[test]
    fn encode_lays_out_data_as_i2c_dev_expects() {
        use SmbusData as D;
        use SmbusSize::*;
        let w = 0x1234u16.to_ne_bytes();
        let cases = [
            (SmbusXfer::quick(false), (0, 0, 0, None)),
            (SmbusXfer::quick(true), (1, 0, 0, None)),
            (SmbusXfer::new(false, 0xa5, Byte, D::None), (0, 0xa5, 1, None)),
            (SmbusXfer::new(true, 0, Byte, D::Byte(0)), (1, 0, 1, bytes(&[]))),
            (SmbusXfer::new(false, 7, ByteData, D::Byte(9)), (0, 7, 2, bytes(&[9]))),
            (SmbusXfer::new(true, 7, ByteData, D::Byte(0)), (1, 7, 2, bytes(&[]))),
            (
                SmbusXfer::new(false, 7, WordData, D::Word(0x1234)),
                (0, 7, 3, bytes(&w)),
            ),
            (SmbusXfer::new(true, 7, WordData, D::Word(0)), (1, 7, 3, bytes(&[]))),
            // Process call: a write that returns a word.
            (
                SmbusXfer::new(false, 7, ProcCall, D::Word(0x1234)),
                (0, 7, 4, bytes(&w)),
            ),
            (
                SmbusXfer::new(false, 7, BlockData, D::Block(vec![0xaa, 0xbb])),
                (0, 7, 5, bytes(&[2, 0xaa, 0xbb])),
            ),
            (
                SmbusXfer::new(true, 7, BlockData, D::Block(vec![])),
                (1, 7, 5, bytes(&[])),
            ),
            (
                SmbusXfer::new(false, 7, I2cBlockData, D::Block(vec![1, 2, 3])),
                (0, 7, 8, bytes(&[3, 1, 2, 3])),
            ),
            (
                SmbusXfer::new(true, 7, I2cBlockData, D::Block(vec![0; 16])),
                (1, 7, 8, bytes(&[16])),
            ),
        ];
        for (x, want) in cases {
            assert_eq!(encoded(&x), Some(want), "{x:?}");
        }
        let full: Vec<u8> = (1..=32).collect();
        let mut want = vec![32];
        want.extend_from_slice(&full);
        want.push(0);
        assert_eq!(
            encoded(&SmbusXfer::new(false, 7, I2cBlockData, D::Block(full))),
            Some((0, 7, 8, Some(want)))
        );
    }

    #[test]
    fn encode_refuses_malformed_transactions() {
        use SmbusData as D;
        use SmbusSize::*;
        let bad = [
            SmbusXfer::new(false, 7, ByteData, D::None),
            SmbusXfer::new(false, 7, ByteData, D::Word(1)),
            SmbusXfer::new(false, 7, WordData, D::Byte(1)),
            SmbusXfer::new(false, 7, ProcCall, D::None),
            SmbusXfer::new(false, 7, BlockData, D::Block(vec![])),
            SmbusXfer::new(false, 7, BlockData, D::Block(vec![0; 33])),
            SmbusXfer::new(false, 7, I2cBlockData, D::Block(vec![])),
            SmbusXfer::new(false, 7, I2cBlockData, D::Byte(1)),
            SmbusXfer::new(true, 7, I2cBlockData, D::Block(vec![])),
            SmbusXfer::new(true, 7, I2cBlockData, D::Block(vec![0; 33])),
            SmbusXfer::new(true, 7, I2cBlockData, D::None),
        ];
        for x in bad {
            assert!(encode(&x).is_none(), "{x:?}");
        }
    }

    /// Runs `decode` on `x` as if the kernel had left `block` in the data.
    fn decoded(mut x: SmbusXfer, block: &[u8]) -> SmbusData {
        let mut args = encode(&x).expect("well-formed");
        let mut raw = [0u8; BLOCK_MAX + 2];
        raw[..block.len()].copy_from_slice(block);
        args.data = Some(i2c_smbus_data { block: raw });
        decode(&args, &mut x);
        x.data
    }

    #[test]
    fn decode_reads_what_i2c_dev_returns() {
        use SmbusData as D;
        use SmbusSize::*;
        let w = 0xbeefu16.to_ne_bytes();
        assert_eq!(
            decoded(SmbusXfer::new(true, 0, Byte, D::Byte(0)), &[0x42]),
            D::Byte(0x42)
        );
        assert_eq!(
            decoded(SmbusXfer::new(true, 7, ByteData, D::Byte(0)), &[0x42]),
            D::Byte(0x42)
        );
        assert_eq!(
            decoded(SmbusXfer::new(true, 7, WordData, D::Word(0)), &w),
            D::Word(0xbeef)
        );
        assert_eq!(
            decoded(SmbusXfer::new(false, 7, ProcCall, D::Word(1)), &w),
            D::Word(0xbeef)
        );
        assert_eq!(
            decoded(
                SmbusXfer::new(true, 7, I2cBlockData, D::Block(vec![0; 3])),
                &[3, 7, 8, 9, 10]
            ),
            D::Block(vec![7, 8, 9])
        );
        // Fewer bytes than asked, as block[0] says; never more than asked.
        assert_eq!(
            decoded(
                SmbusXfer::new(true, 7, I2cBlockData, D::Block(vec![0; 3])),
                &[2, 7, 8, 9]
            ),
            D::Block(vec![7, 8])
        );
        assert_eq!(
            decoded(
                SmbusXfer::new(true, 7, I2cBlockData, D::Block(vec![0; 2])),
                &[200, 7, 8, 9]
            ),
            D::Block(vec![7, 8])
        );
        assert_eq!(
            decoded(SmbusXfer::new(true, 7, BlockData, D::Block(vec![])), &[2, 5, 6, 7]),
            D::Block(vec![5, 6])
        );
        // A count past 32 is clamped, not trusted.
        let mut full = vec![255];
        full.extend(1..=33);
        assert_eq!(
            decoded(SmbusXfer::new(true, 7, BlockData, D::Block(vec![])), &full),
            D::Block((1..=32).collect())
        );
        // Writes keep their data.
        assert_eq!(
            decoded(SmbusXfer::new(false, 7, ByteData, D::Byte(5)), &[9]),
            D::Byte(5)
        );
    }
}
