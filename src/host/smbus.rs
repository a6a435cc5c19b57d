// SPDX-License-Identifier: GPL-2.0-or-later
//! SMBus translation: a group of I2C messages to the one SMBus transaction
//! that puts exactly the same bytes on the wire, and back.
//!
//! SMBus-only host adapters (Intel i801 is one) cannot run arbitrary I2C
//! transfers, but the guest's `i2c-virtio` driver always sends I2C messages,
//! even for SMBus calls: Linux emulates SMBus with I2C messages
//! (`i2c_smbus_xfer_emulated()` in `drivers/i2c/i2c-core-smbus.c`). This
//! module undoes that emulation.
//!
//! Rule: a translation is chosen only when the SMBus transaction produces
//! the same wire traffic as the group, byte for byte, and the adapter has the
//! functionality bit for it. Where several transactions are wire-identical
//! (a 2-byte write is both "write byte data" and a 1-byte "I2C block
//! write"), the first supported one in [`candidates`] order wins.
//!
//! | group | SMBus transaction | bit |
//! |---|---|---|
//! | `[W0]` / `[R0]` | quick write / read | `SMBUS_QUICK` |
//! | `[W1]` | send byte | `SMBUS_WRITE_BYTE` |
//! | `[R1]` | receive byte | `SMBUS_READ_BYTE` |
//! | `[W2]` | write byte data | `SMBUS_WRITE_BYTE_DATA` |
//! | `[W3]` | write word data | `SMBUS_WRITE_WORD_DATA` |
//! | `[W1+n]`, n 1..=32 | I2C block write | `SMBUS_WRITE_I2C_BLOCK` |
//! | `[W2+n]` with byte 1 = n | block write | `SMBUS_WRITE_BLOCK_DATA` |
//! | `[W1 R1]` | read byte data | `SMBUS_READ_BYTE_DATA` |
//! | `[W1 R2]` | read word data | `SMBUS_READ_WORD_DATA` |
//! | `[W1 Rn]`, n 1..=32 | I2C block read | `SMBUS_READ_I2C_BLOCK` |
//! | `[W3 R2]` | process call | `SMBUS_PROC_CALL` |
//!
//! SMBus block read and block process call are not produced: their length
//! comes from the target (`I2C_M_RECV_LEN`), which virtio-i2c cannot express.

use crate::i2c::{shape, Address, Funcs, LimitError, Msg, Transfer};

/// Largest SMBus block payload.
///
/// # Source
/// `I2C_SMBUS_BLOCK_MAX` in `<linux/i2c.h>`.
pub const BLOCK_MAX: usize = 32;

/// SMBus transaction types, as the `size` field of `I2C_SMBUS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SmbusSize {
    /// Quick command: the R/W bit only (`I2C_SMBUS_QUICK`).
    Quick,
    /// Send or receive one byte (`I2C_SMBUS_BYTE`).
    Byte,
    /// Command byte, then one data byte (`I2C_SMBUS_BYTE_DATA`).
    ByteData,
    /// Command byte, then a little-endian word (`I2C_SMBUS_WORD_DATA`).
    WordData,
    /// Command, word out, word in (`I2C_SMBUS_PROC_CALL`).
    ProcCall,
    /// Command, count, data (`I2C_SMBUS_BLOCK_DATA`); writes only here.
    BlockData,
    /// Command, then raw data without count (`I2C_SMBUS_I2C_BLOCK_DATA`).
    I2cBlockData,
}

/// Data of an SMBus transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmbusData {
    /// No data (quick, send byte).
    None,
    /// One byte.
    Byte(u8),
    /// One word, host order (the wire carries it little-endian).
    Word(u16),
    /// A block of 1..=32 bytes (without the count byte). For an I2C block
    /// read, the block's length is the number of bytes to read.
    Block(Vec<u8>),
}

/// One SMBus transaction: what `struct i2c_smbus_ioctl_data` carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmbusXfer {
    /// `I2C_SMBUS_READ` when true.
    pub read: bool,
    /// The command (register) byte; for a send byte, the byte sent.
    pub command: u8,
    /// The transaction type.
    pub size: SmbusSize,
    /// Data written, or filled in by a read.
    pub data: SmbusData,
}

impl SmbusXfer {
    /// A transaction of these fields.
    pub fn new(read: bool, command: u8, size: SmbusSize, data: SmbusData) -> Self {
        Self {
            read,
            command,
            size,
            data,
        }
    }

    /// A quick command with the given R/W bit.
    pub fn quick(read: bool) -> Self {
        Self {
            read,
            command: 0,
            size: SmbusSize::Quick,
            data: SmbusData::None,
        }
    }

    /// The functionality bit an adapter needs for this transaction.
    pub fn required_func(&self) -> u64 {
        use SmbusSize::*;
        match (self.size, self.read) {
            (Quick, _) => Funcs::SMBUS_QUICK,
            (Byte, true) => Funcs::SMBUS_READ_BYTE,
            (Byte, false) => Funcs::SMBUS_WRITE_BYTE,
            (ByteData, true) => Funcs::SMBUS_READ_BYTE_DATA,
            (ByteData, false) => Funcs::SMBUS_WRITE_BYTE_DATA,
            (WordData, true) => Funcs::SMBUS_READ_WORD_DATA,
            (WordData, false) => Funcs::SMBUS_WRITE_WORD_DATA,
            (ProcCall, _) => Funcs::SMBUS_PROC_CALL,
            (BlockData, true) => Funcs::SMBUS_READ_BLOCK_DATA,
            (BlockData, false) => Funcs::SMBUS_WRITE_BLOCK_DATA,
            (I2cBlockData, true) => Funcs::SMBUS_READ_I2C_BLOCK,
            (I2cBlockData, false) => Funcs::SMBUS_WRITE_I2C_BLOCK,
        }
    }
}

fn word(lo: u8, hi: u8) -> u16 {
    u16::from_le_bytes([lo, hi])
}

/// Every SMBus transaction that is wire-identical to `msgs`, in order of
/// preference. Empty when there is none.
pub fn candidates(msgs: &[Msg]) -> Vec<SmbusXfer> {
    use SmbusData as D;
    use SmbusSize::*;
    let mut out = Vec::new();
    match msgs {
        [m] if !m.is_read() => match m.data() {
            [] => out.push(SmbusXfer::quick(false)),
            [c] => out.push(SmbusXfer::new(false, *c, Byte, D::None)),
            [c, rest @ ..] => {
                match rest {
                    [b] => out.push(SmbusXfer::new(false, *c, ByteData, D::Byte(*b))),
                    [lo, hi] => out.push(SmbusXfer::new(false, *c, WordData, D::Word(word(*lo, *hi)))),
                    _ => {}
                }
                if rest.len() <= BLOCK_MAX {
                    out.push(SmbusXfer::new(false, *c, I2cBlockData, D::Block(rest.to_vec())));
                }
                if let [n, data @ ..] = rest {
                    if usize::from(*n) == data.len() && (1..=BLOCK_MAX).contains(&data.len()) {
                        out.push(SmbusXfer::new(false, *c, BlockData, D::Block(data.to_vec())));
                    }
                }
            }
        },
        [m] if m.is_read() => match m.len() {
            0 => out.push(SmbusXfer::quick(true)),
            1 => out.push(SmbusXfer::new(true, 0, Byte, D::Byte(0))),
            _ => {}
        },
        [w, r] if !w.is_read() && r.is_read() && w.addr() == r.addr() => {
            let n = r.len();
            match w.data() {
                [c] => {
                    match n {
                        1 => out.push(SmbusXfer::new(true, *c, ByteData, D::Byte(0))),
                        2 => out.push(SmbusXfer::new(true, *c, WordData, D::Word(0))),
                        _ => {}
                    }
                    if (1..=BLOCK_MAX).contains(&n) {
                        out.push(SmbusXfer::new(true, *c, I2cBlockData, D::Block(vec![0; n])));
                    }
                }
                [c, lo, hi] if n == 2 => {
                    out.push(SmbusXfer::new(false, *c, ProcCall, D::Word(word(*lo, *hi))));
                }
                _ => {}
            }
        }
        _ => {}
    }
    out
}

/// Translates a group into one SMBus transaction the adapter supports.
///
/// Returns the target address and the transaction, or the group's shape
/// (for the error message) when there is no wire-identical transaction with
/// its functionality bit set. 10-bit targets never translate: SMBus is
/// 7-bit.
pub fn translate(msgs: &[Msg], funcs: Funcs) -> Result<(Address, SmbusXfer), String> {
    let addr = match msgs.first() {
        Some(m) if !m.addr().is_ten_bit() && msgs.iter().all(|x| x.addr() == m.addr()) => m.addr(),
        _ => return Err(shape(msgs)),
    };
    candidates(msgs)
        .into_iter()
        .find(|x| funcs.has(x.required_func()))
        .map(|x| (addr, x))
        .ok_or_else(|| shape(msgs))
}

/// Copies the data a completed read transaction returned into the group's
/// read message. The transaction must come from [`translate`] on the same
/// group; lengths that do not match are left untouched.
pub fn scatter(xfer: &SmbusXfer, msgs: &mut [Msg]) {
    let Some(r) = msgs.iter_mut().rev().find(|m| m.is_read()) else {
        return;
    };
    let buf = r.data_mut();
    match &xfer.data {
        SmbusData::Byte(b) => {
            if let Some(d) = buf.first_mut() {
                *d = *b;
            }
        }
        SmbusData::Word(w) => {
            if let Some(d) = buf.get_mut(..2) {
                d.copy_from_slice(&w.to_le_bytes());
            }
        }
        SmbusData::Block(b) if xfer.read => {
            if let Some(d) = buf.get_mut(..b.len()) {
                d.copy_from_slice(b);
            }
        }
        _ => {}
    }
}

/// The wire messages an SMBus transaction produces: the inverse of
/// [`translate`]. Read messages are zero-filled; [`gather`] copies their
/// data back into the transaction. Used by adapters that execute SMBus
/// transactions on a byte-level bus. A malformed transaction (a block
/// longer than a message may be) is refused.
pub fn to_msgs(addr: Address, x: &SmbusXfer) -> Result<Transfer, LimitError> {
    use SmbusSize::*;
    let c = x.command;
    let block = match &x.data {
        SmbusData::Block(b) => b.as_slice(),
        _ => &[],
    };
    let wbytes = match x.data {
        SmbusData::Byte(b) => vec![c, b],
        SmbusData::Word(w) => {
            let [lo, hi] = w.to_le_bytes();
            vec![c, lo, hi]
        }
        _ => vec![c],
    };
    let w = |data: Vec<u8>| Msg::write(addr, data);
    let r = |len: usize| Msg::read(addr, len);
    let msgs = match (x.size, x.read) {
        (Quick, read) => vec![Msg::zeroed(addr, read, 0)?],
        (Byte, false) => vec![w(vec![c])?],
        (Byte, true) => vec![r(1)?],
        (ByteData | WordData, false) => vec![w(wbytes)?],
        (ByteData, true) => vec![w(vec![c])?, r(1)?],
        (WordData, true) => vec![w(vec![c])?, r(2)?],
        (ProcCall, _) => vec![w(wbytes)?, r(2)?],
        (BlockData, false) => {
            let n = u8::try_from(block.len()).unwrap_or(u8::MAX);
            let mut data = vec![c, n];
            data.extend_from_slice(block);
            vec![w(data)?]
        }
        // A block read's length comes from the target; callers never build
        // one (see the module documentation), so it reads just the count.
        (BlockData, true) => vec![w(vec![c])?, r(1)?],
        (I2cBlockData, false) => {
            let mut data = vec![c];
            data.extend_from_slice(block);
            vec![w(data)?]
        }
        (I2cBlockData, true) => vec![w(vec![c])?, r(block.len())?],
    };
    Transfer::new(msgs)
}

/// Copies the read message of `msgs` (from [`to_msgs`]) into the data of
/// `x`.
pub fn gather(x: &mut SmbusXfer, msgs: &[Msg]) {
    let Some(r) = msgs.iter().rev().find(|m| m.is_read()) else {
        return;
    };
    match &mut x.data {
        SmbusData::Byte(b) => *b = r.data().first().copied().unwrap_or(0xff),
        SmbusData::Word(w) => {
            if let [lo, hi, ..] = r.data() {
                *w = word(*lo, *hi);
            }
        }
        SmbusData::Block(b) if x.read => {
            b.clear();
            b.extend_from_slice(r.data());
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Address = Address::seven(0x50).unwrap();
    const ALL: Funcs = Funcs(Funcs::SMBUS_ALL_TRANSLATED);

    fn w(d: &[u8]) -> Msg {
        Msg::write(A, d.to_vec()).unwrap()
    }
    fn r(n: usize) -> Msg {
        Msg::read(A, n).unwrap()
    }

    #[test]
    fn every_documented_shape_translates() {
        use SmbusData as D;
        use SmbusSize::*;
        let cases: Vec<(Vec<Msg>, SmbusXfer)> = vec![
            (vec![w(&[])], SmbusXfer::quick(false)),
            (vec![r(0)], SmbusXfer::quick(true)),
            (vec![w(&[7])], SmbusXfer::new(false, 7, Byte, D::None)),
            (vec![r(1)], SmbusXfer::new(true, 0, Byte, D::Byte(0))),
            (vec![w(&[7, 9])], SmbusXfer::new(false, 7, ByteData, D::Byte(9))),
            (
                vec![w(&[7, 0x34, 0x12])],
                SmbusXfer::new(false, 7, WordData, D::Word(0x1234)),
            ),
            (
                vec![w(&[7, 1, 2, 3])],
                SmbusXfer::new(false, 7, I2cBlockData, D::Block(vec![1, 2, 3])),
            ),
            (vec![w(&[7]), r(1)], SmbusXfer::new(true, 7, ByteData, D::Byte(0))),
            (vec![w(&[7]), r(2)], SmbusXfer::new(true, 7, WordData, D::Word(0))),
            (
                vec![w(&[7]), r(32)],
                SmbusXfer::new(true, 7, I2cBlockData, D::Block(vec![0; 32])),
            ),
            (
                vec![w(&[7, 0x34, 0x12]), r(2)],
                SmbusXfer::new(false, 7, ProcCall, D::Word(0x1234)),
            ),
        ];
        for (msgs, want) in cases {
            assert_eq!(translate(&msgs, ALL), Ok((A, want)), "{}", shape(&msgs));
        }
    }

    #[test]
    fn block_write_used_only_without_i2c_block() {
        let msgs = vec![w(&[7, 2, 0xaa, 0xbb])];
        let f = Funcs(Funcs::SMBUS_WRITE_BLOCK_DATA);
        let (_, x) = translate(&msgs, f).unwrap();
        assert_eq!(x.size, SmbusSize::BlockData);
        assert_eq!(x.data, SmbusData::Block(vec![0xaa, 0xbb]));
        // The count byte must match, or the bytes on the wire would differ.
        assert!(translate(&[w(&[7, 3, 0xaa, 0xbb])], f).is_err());
    }

    #[test]
    fn falls_back_to_i2c_block_when_byte_data_missing() {
        let f = Funcs(Funcs::SMBUS_READ_I2C_BLOCK);
        let (_, x) = translate(&[w(&[7]), r(1)], f).unwrap();
        assert_eq!(x.size, SmbusSize::I2cBlockData);
    }

    #[test]
    fn gated_on_functionality_bits() {
        assert_eq!(translate(&[w(&[])], Funcs(0)), Err("[W0@0x50]".to_owned()));
        assert_eq!(
            translate(&[w(&[7]), r(2)], Funcs(Funcs::SMBUS_READ_BYTE_DATA)),
            Err("[W1@0x50 R2@0x50]".to_owned())
        );
    }

    #[test]
    fn shapes_without_equivalent_are_refused() {
        let b = Address::seven(0x51).unwrap();
        let bad: Vec<Vec<Msg>> = vec![
            vec![],
            vec![r(2)],
            vec![w(&[1]), r(33)],
            vec![w(&[0; 34])],
            vec![w(&[1]), r(0)],
            vec![w(&[1, 2]), r(1)],
            vec![w(&[1]), w(&[2])],
            vec![r(1), r(1)],
            vec![w(&[1]), r(1), r(1)],
            vec![w(&[1]), Msg::read(b, 1).unwrap()],
            vec![Msg::write(Address::ten(0x50).unwrap(), vec![1]).unwrap()],
        ];
        for msgs in bad {
            assert!(translate(&msgs, ALL).is_err(), "{}", shape(&msgs));
        }
    }

    #[test]
    fn scatter_and_gather_round_trip() {
        let mut msgs = vec![w(&[7]), r(2)];
        let (_, mut x) = translate(&msgs, ALL).unwrap();
        x.data = SmbusData::Word(0xbeef);
        scatter(&x, &mut msgs);
        assert_eq!(msgs[1].data(), [0xef, 0xbe]);

        let mut back = SmbusXfer {
            data: SmbusData::Word(0),
            ..x.clone()
        };
        gather(&mut back, &msgs);
        assert_eq!(back, x);
    }

    #[test]
    fn to_msgs_is_the_inverse_of_translate() {
        let groups: Vec<Vec<Msg>> = vec![
            vec![w(&[])],
            vec![r(0)],
            vec![w(&[5])],
            vec![r(1)],
            vec![w(&[5, 6])],
            vec![w(&[5, 6, 7])],
            vec![w(&[5, 6, 7, 8, 9])],
            vec![w(&[5]), r(1)],
            vec![w(&[5]), r(2)],
            vec![w(&[5]), r(17)],
            vec![w(&[5, 6, 7]), r(2)],
        ];
        for g in groups {
            for x in candidates(&g) {
                assert_eq!(to_msgs(A, &x).unwrap().msgs(), g, "{x:?}");
            }
        }
    }
}
