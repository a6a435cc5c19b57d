// SPDX-License-Identifier: GPL-2.0-or-later
//! The ground floor: I2C vocabulary that every layer shares.
//!
//! - [`Address`]: a 7-bit or 10-bit target address. Its representation is
//!   private; the checked constructors are the only way to make one, so an
//!   out-of-range address cannot exist.
//! - [`Msg`]: one message of a combined transfer, at most [`MAX_MSG_LEN`]
//!   bytes by construction.
//! - [`Transfer`]: 1 to [`MAX_MSGS`] messages by construction, what one
//!   `I2C_RDWR` carries.
//! - [`Funcs`]: adapter functionality bits (`I2C_FUNC_*`).
//! - [`parse_number`]: the number lexer of every property string.
//!
//! The limits are enforced here and nowhere else: [`Msg`] and [`Transfer`]
//! refuse what exceeds them ([`LimitError`]), and the layers above build
//! these types instead of checking lengths themselves.
//!
//! This module imports nothing from the crate.

use std::fmt;

/// Maximum number of messages in one combined transfer.
///
/// # Source
/// `I2C_RDWR_IOCTL_MAX_MSGS` in `<linux/i2c-dev.h>`.
pub const MAX_MSGS: usize = 42;

/// Maximum length of one message in bytes.
///
/// # Source
/// `drivers/i2c/i2c-dev.c`: `i2cdev_ioctl_rdwr` refuses `len > 8192`.
pub const MAX_MSG_LEN: usize = 8192;

/// An I2C target address, 7-bit (0x00-0x7f) or 10-bit (0x000-0x3ff).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(Width);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Width {
    Seven(u8),
    Ten(u16),
}

impl Address {
    /// A 7-bit address, `None` when `addr > 0x7f`.
    pub const fn seven(addr: u8) -> Option<Self> {
        if addr <= 0x7f {
            Some(Self(Width::Seven(addr)))
        } else {
            None
        }
    }

    /// A 10-bit address, `None` when `addr > 0x3ff`.
    pub const fn ten(addr: u16) -> Option<Self> {
        if addr <= 0x3ff {
            Some(Self(Width::Ten(addr)))
        } else {
            None
        }
    }

    /// The address value without its width.
    pub fn value(self) -> u16 {
        match self.0 {
            Width::Seven(a) => u16::from(a),
            Width::Ten(a) => a,
        }
    }

    /// The 7-bit address, `None` for a 10-bit one.
    pub fn as_seven(self) -> Option<u8> {
        match self.0 {
            Width::Seven(a) => Some(a),
            Width::Ten(_) => None,
        }
    }

    /// Whether this is a 10-bit address.
    pub fn is_ten_bit(self) -> bool {
        matches!(self.0, Width::Ten(_))
    }

    /// Whether a 7-bit address is reserved by the I2C specification:
    /// 0x00-0x07 (general call, START byte, CBUS, other buses, Hs-mode) and
    /// 0x78-0x7f (10-bit addressing, device ID).
    ///
    /// # Source
    /// NXP UM10204 "I2C-bus specification", table 4 "Reserved addresses".
    pub fn is_reserved(self) -> bool {
        match self.0 {
            Width::Seven(a) => a <= 0x07 || a >= 0x78,
            Width::Ten(_) => false,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Width::Seven(a) => write!(f, "0x{a:02x}"),
            Width::Ten(a) => write!(f, "10-bit 0x{a:03x}"),
        }
    }
}

/// A message or transfer outside the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// More messages than one transfer may carry.
    #[error("{count} messages in one transfer; at most {MAX_MSGS} are allowed")]
    TooManyMessages {
        /// Number of messages.
        count: usize,
    },
    /// A message longer than one transfer may carry.
    #[error("message of {len} bytes; at most {MAX_MSG_LEN} are allowed")]
    MessageTooLong {
        /// Length of the message.
        len: usize,
    },
    /// A transfer without messages.
    #[error("empty transfer")]
    EmptyTransfer,
}

/// Checks a message length against [`MAX_MSG_LEN`] before anything is
/// allocated or copied for it.
pub fn check_msg_len(len: usize) -> Result<(), LimitError> {
    if len > MAX_MSG_LEN {
        Err(LimitError::MessageTooLong { len })
    } else {
        Ok(())
    }
}

/// Checks a message count against 1..=[`MAX_MSGS`] before the messages
/// are built.
pub fn check_msg_count(count: usize) -> Result<(), LimitError> {
    match count {
        0 => Err(LimitError::EmptyTransfer),
        n if n > MAX_MSGS => Err(LimitError::TooManyMessages { count: n }),
        _ => Ok(()),
    }
}

/// One I2C message of a combined transfer: at most [`MAX_MSG_LEN`] bytes.
///
/// A read message carries room for the data (zeros until an adapter fills
/// it); a write message carries the bytes to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    addr: Address,
    read: bool,
    buf: Vec<u8>,
}

impl Msg {
    /// A write message carrying `data`.
    pub fn write(addr: Address, data: Vec<u8>) -> Result<Self, LimitError> {
        check_msg_len(data.len())?;
        Ok(Self {
            addr,
            read: false,
            buf: data,
        })
    }

    /// A read message of `len` bytes.
    pub fn read(addr: Address, len: usize) -> Result<Self, LimitError> {
        check_msg_len(len)?;
        Ok(Self {
            addr,
            read: true,
            buf: vec![0; len],
        })
    }

    /// A message of `len` zero bytes, to be filled through
    /// [`Self::data_mut`] (the write data, or the room for a read).
    pub fn zeroed(addr: Address, read: bool, len: usize) -> Result<Self, LimitError> {
        check_msg_len(len)?;
        Ok(Self {
            addr,
            read,
            buf: vec![0; len],
        })
    }

    /// Appends one byte to a message being assembled byte by byte.
    pub fn push(&mut self, byte: u8) -> Result<(), LimitError> {
        check_msg_len(self.buf.len() + 1)?;
        self.buf.push(byte);
        Ok(())
    }

    /// The target address.
    pub fn addr(&self) -> Address {
        self.addr
    }

    /// The same message for another target (an address remap).
    pub fn with_addr(self, addr: Address) -> Self {
        Self { addr, ..self }
    }

    /// Whether the message reads from the target.
    pub fn is_read(&self) -> bool {
        self.read
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether it has no data (an SMBus Quick on the wire).
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The data: written, or read so far.
    pub fn data(&self) -> &[u8] {
        &self.buf
    }

    /// The data, for an adapter filling a read (the length is fixed).
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// The data buffer.
    pub fn into_data(self) -> Vec<u8> {
        self.buf
    }
}

/// One combined transfer: 1 to [`MAX_MSGS`] messages, START, a repeated
/// START before each further message, one STOP.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transfer {
    msgs: Vec<Msg>,
}

impl Transfer {
    /// A transfer of `msgs`.
    pub fn new(msgs: Vec<Msg>) -> Result<Self, LimitError> {
        check_msg_count(msgs.len())?;
        Ok(Self { msgs })
    }

    /// The messages.
    pub fn msgs(&self) -> &[Msg] {
        &self.msgs
    }

    /// The messages, for an adapter filling reads (the count is fixed).
    pub fn msgs_mut(&mut self) -> &mut [Msg] {
        &mut self.msgs
    }

    /// The messages, given back (e.g. to reuse the allocation).
    pub fn into_msgs(self) -> Vec<Msg> {
        self.msgs
    }

}

/// The shape of a list of messages for error messages and logs, e.g.
/// `[W1@0x50 R2@0x50]`.
pub fn shape(msgs: &[Msg]) -> String {
    let parts: Vec<String> = msgs.iter().map(ToString::to_string).collect();
    format!("[{}]", parts.join(" "))
}

impl fmt::Display for Msg {
    /// `W2@0x50`, `R1@10-bit 0x150`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = if self.read { 'R' } else { 'W' };
        write!(f, "{dir}{}@{}", self.len(), self.addr)
    }
}

/// Adapter functionality bits, with the values of `I2C_FUNC_*` in
/// `<linux/i2c.h>` (as returned by the `I2C_FUNCS` ioctl).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Funcs(pub u64);

#[allow(missing_docs)]
impl Funcs {
    pub const I2C: u64 = 0x0000_0001;
    pub const TEN_BIT_ADDR: u64 = 0x0000_0002;
    pub const SMBUS_QUICK: u64 = 0x0001_0000;
    pub const SMBUS_READ_BYTE: u64 = 0x0002_0000;
    pub const SMBUS_WRITE_BYTE: u64 = 0x0004_0000;
    pub const SMBUS_READ_BYTE_DATA: u64 = 0x0008_0000;
    pub const SMBUS_WRITE_BYTE_DATA: u64 = 0x0010_0000;
    pub const SMBUS_READ_WORD_DATA: u64 = 0x0020_0000;
    pub const SMBUS_WRITE_WORD_DATA: u64 = 0x0040_0000;
    pub const SMBUS_PROC_CALL: u64 = 0x0080_0000;
    pub const SMBUS_READ_BLOCK_DATA: u64 = 0x0100_0000;
    pub const SMBUS_WRITE_BLOCK_DATA: u64 = 0x0200_0000;
    pub const SMBUS_READ_I2C_BLOCK: u64 = 0x0400_0000;
    pub const SMBUS_WRITE_I2C_BLOCK: u64 = 0x0800_0000;

    /// Every SMBus transaction the host layer's SMBus translation can
    /// produce.
    pub const SMBUS_ALL_TRANSLATED: u64 = Self::SMBUS_QUICK
        | Self::SMBUS_READ_BYTE
        | Self::SMBUS_WRITE_BYTE
        | Self::SMBUS_READ_BYTE_DATA
        | Self::SMBUS_WRITE_BYTE_DATA
        | Self::SMBUS_READ_WORD_DATA
        | Self::SMBUS_WRITE_WORD_DATA
        | Self::SMBUS_PROC_CALL
        | Self::SMBUS_WRITE_BLOCK_DATA
        | Self::SMBUS_READ_I2C_BLOCK
        | Self::SMBUS_WRITE_I2C_BLOCK;

    /// Whether every bit of `bits` is set.
    pub fn has(self, bits: u64) -> bool {
        self.0 & bits == bits
    }
}

/// Parses `0x<hex>` or decimal into a number; `None` for anything else
/// (signs, empty digits, overflow).
pub fn parse_number(s: &str) -> Option<u32> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if h.is_empty() || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(h, 16).ok()
    } else {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_at_construction() {
        assert_eq!(Address::seven(0x7f).map(Address::value), Some(0x7f));
        assert_eq!(Address::seven(0x80), None);
        assert_eq!(Address::seven(0xff), None);
        assert_eq!(Address::ten(0x3ff).map(Address::value), Some(0x3ff));
        assert_eq!(Address::ten(0x400), None);
        let a = Address::seven(0x50).unwrap();
        assert_eq!((a.as_seven(), a.is_ten_bit()), (Some(0x50), false));
        let t = Address::ten(0x50).unwrap();
        assert_eq!((t.as_seven(), t.is_ten_bit()), (None, true));
        assert_ne!(a, t);
        assert_eq!(a.to_string(), "0x50");
        assert_eq!(t.to_string(), "10-bit 0x050");
    }

    #[test]
    fn reserved_addresses() {
        let r: Vec<u8> = (0..=0x7f)
            .filter(|&a| Address::seven(a).unwrap().is_reserved())
            .collect();
        assert_eq!(
            r,
            [0, 1, 2, 3, 4, 5, 6, 7, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f]
        );
        assert!(!Address::ten(0).unwrap().is_reserved());
    }

    #[test]
    fn messages_and_transfers_respect_the_limits() {
        let a = Address::seven(0x50).unwrap();
        assert!(Msg::read(a, MAX_MSG_LEN).is_ok());
        assert_eq!(
            Msg::read(a, MAX_MSG_LEN + 1),
            Err(LimitError::MessageTooLong {
                len: MAX_MSG_LEN + 1
            })
        );
        assert_eq!(
            Msg::write(a, vec![0; MAX_MSG_LEN + 1]).unwrap_err(),
            LimitError::MessageTooLong {
                len: MAX_MSG_LEN + 1
            }
        );
        let mut m = Msg::zeroed(a, false, MAX_MSG_LEN - 1).unwrap();
        assert_eq!(m.push(1), Ok(()));
        assert_eq!(
            m.push(2),
            Err(LimitError::MessageTooLong {
                len: MAX_MSG_LEN + 1
            })
        );
        assert_eq!(m.len(), MAX_MSG_LEN);
        let one = || Msg::read(a, 1).unwrap();
        assert_eq!(Transfer::new(vec![]), Err(LimitError::EmptyTransfer));
        assert!(Transfer::new((0..MAX_MSGS).map(|_| one()).collect()).is_ok());
        assert_eq!(
            Transfer::new((0..=MAX_MSGS).map(|_| one()).collect()),
            Err(LimitError::TooManyMessages {
                count: MAX_MSGS + 1
            })
        );
        let t = Transfer::new(vec![
            Msg::write(a, vec![1]).unwrap(),
            Msg::read(Address::ten(0x150).unwrap(), 2).unwrap(),
        ])
        .unwrap();
        assert_eq!(shape(t.msgs()), "[W1@0x50 R2@10-bit 0x150]");
    }

    #[test]
    fn parse_number_forms() {
        assert_eq!(parse_number("0x1F"), Some(31));
        assert_eq!(parse_number("0X1f"), Some(31));
        assert_eq!(parse_number("31"), Some(31));
        assert_eq!(parse_number("+31"), None);
        assert_eq!(parse_number("0x"), None);
        assert_eq!(parse_number("99999999999"), None);
    }
}
