// SPDX-License-Identifier: GPL-2.0-or-later
//! Address policy: which guest addresses reach the host, as which host
//! address, and whether the guest may write to them.
//!
//! Syntax (the `address` property), a comma-separated list of entries:
//!
//! ```text
//! entry   := side [ "=" side ] [ ro ]     guest[=host], optionally read-only
//! ro      := ":ro" | ":ro2"               pointer of at most 1 or 2 bytes
//! side    := addr [ "-" addr ]            one address or an inclusive range
//! addr    := [ "10bit:" ] number          7-bit unless marked 10-bit
//! number  := 0x<hex> | <decimal>
//! ```
//!
//! Examples: `0x50`, `0x50,0x52-0x53,0x60=0x61`, `0x50-0x53=0x54-0x57`,
//! `10bit:0x150`, `0x50-0x57:ro`. A range's end has the width of its start.
//! Remapped ranges must have equal lengths.
//!
//! A read-only client (`:ro`, `:ro2`) can be read but never written: a
//! write to it is allowed only as the register pointer of a read, i.e. a
//! write of at most 1 byte (`:ro`) or 2 bytes (`:ro2`) followed, in the
//! same transfer, by a read of the same client (a repeated START). Every
//! other write to it fails before any bus traffic. This keeps SPD EEPROMs
//! and calibration data safe from the guest. The width must be the
//! client's own: a 2-byte "pointer" to a client with 1-byte register
//! addresses (a 24C02, an SPD EEPROM, most sensors) is a pointer and one
//! data byte, so `:ro2` is only for clients with 2-byte addresses (24C32
//! and larger EEPROMs). Devices driven by command codes (PMBus) may act on
//! a command byte even when a read follows; read-only does not make
//! those safe.
//!
//! Rules, each error naming the offending token: 7-bit addresses are
//! 0x00-0x7f and 10-bit ones 0x000-0x3ff; the reserved 7-bit addresses
//! 0x00-0x07 and 0x78-0x7f are refused on either side (UM10204 table 4);
//! no guest address may appear twice, and no two guest addresses may map to
//! one host address (the host claim is per address).
//!
//! Invariant: [`Policy::route`] is the only way from a guest address to a
//! host address; it is applied to every message of a group before any bus
//! traffic.

use std::collections::BTreeMap;

use crate::i2c::{parse_number, Address, Msg};

/// A read-only client's register pointer: the longest write it accepts,
/// and only right before a read of it. One byte (a 24C02, an SPD EEPROM,
/// most sensors) or two (24C32 and larger EEPROMs); valid by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOnly(u8);

impl ReadOnly {
    /// A 1-byte register pointer (`:ro`).
    pub const BYTE: Self = Self(1);
    /// A 2-byte register pointer (`:ro2`).
    pub const WORD: Self = Self(2);

    /// The read-only mode with a pointer of `len` bytes, when `len` is 1
    /// or 2.
    pub fn with_pointer_len(len: usize) -> Option<Self> {
        match len {
            1 => Some(Self::BYTE),
            2 => Some(Self::WORD),
            _ => None,
        }
    }

    /// The longest write allowed, as the pointer of a read.
    pub fn pointer_len(self) -> usize {
        usize::from(self.0)
    }
}

/// Errors of [`Policy::parse`]; each names the token it refers to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Nothing to parse.
    #[error("no address given")]
    Empty,
    /// A token that does not follow the syntax.
    #[error("'{token}': {reason}")]
    Syntax {
        /// The token.
        token: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A number out of range for its width.
    #[error("'{token}': {value:#x} is not a {width}-bit address")]
    OutOfRange {
        /// The token.
        token: String,
        /// The number.
        value: u32,
        /// 7 or 10.
        width: u8,
    },
    /// A reserved 7-bit address.
    #[error("'{token}': {addr} is reserved (0x00-0x07 and 0x78-0x7f are reserved by the I2C specification)")]
    Reserved {
        /// The token.
        token: String,
        /// The address.
        addr: Address,
    },
    /// A guest address listed twice.
    #[error("'{token}': guest address {addr} is listed twice")]
    DuplicateGuest {
        /// The token.
        token: String,
        /// The address.
        addr: Address,
    },
    /// Two guest addresses mapping to one host address.
    #[error("'{token}': host address {addr} is mapped twice")]
    DuplicateHost {
        /// The token.
        token: String,
        /// The address.
        addr: Address,
    },
    /// A remap whose ranges differ in length.
    #[error("'{token}': the guest range has {guest} addresses but the host range has {host}")]
    RangeLength {
        /// The token.
        token: String,
        /// Guest range length.
        guest: usize,
        /// Host range length.
        host: usize,
    },
}

/// Where an allowed guest address goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The host address.
    pub host: Address,
    /// The client may be read but not written (see the module docs).
    pub read_only: Option<ReadOnly>,
}

/// Which guest addresses are allowed, and where they go on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// Every non-reserved 7-bit address, unchanged, writable (the emulated
    /// bus, where the user chose the devices by attaching them).
    AllowAll7Bit,
    /// Exactly the listed guest addresses, each with its route.
    List(BTreeMap<Address, Route>),
}

impl Policy {
    /// Parses the `address` syntax (see the module documentation).
    pub fn parse(s: &str) -> Result<Self, PolicyError> {
        let mut map = BTreeMap::new();
        let mut hosts = BTreeMap::new();
        for token in s.split(',').map(str::trim) {
            if token.is_empty() {
                continue;
            }
            let (body, read_only) = if let Some(b) = token.strip_suffix(":ro") {
                (b, Some(ReadOnly::BYTE))
            } else if let Some(b) = token.strip_suffix(":ro2") {
                (b, Some(ReadOnly::WORD))
            } else {
                (token, None)
            };
            let (g, h) = match body.split_once('=') {
                Some((g, h)) => (side(token, g)?, side(token, h)?),
                None => {
                    let g = side(token, body)?;
                    (g.clone(), g)
                }
            };
            if g.len() != h.len() {
                return Err(PolicyError::RangeLength {
                    token: token.to_owned(),
                    guest: g.len(),
                    host: h.len(),
                });
            }
            for (ga, ha) in g.into_iter().zip(h) {
                let route = Route {
                    host: ha,
                    read_only,
                };
                if map.insert(ga, route).is_some() {
                    return Err(PolicyError::DuplicateGuest {
                        token: token.to_owned(),
                        addr: ga,
                    });
                }
                if hosts.insert(ha, ga).is_some() {
                    return Err(PolicyError::DuplicateHost {
                        token: token.to_owned(),
                        addr: ha,
                    });
                }
            }
        }
        if map.is_empty() {
            return Err(PolicyError::Empty);
        }
        Ok(Self::List(map))
    }

    /// The route of `guest`, or `None` when it is not allowed.
    pub fn route(&self, guest: Address) -> Option<Route> {
        match self {
            Self::AllowAll7Bit => (!guest.is_ten_bit() && !guest.is_reserved()).then_some(Route {
                host: guest,
                read_only: None,
            }),
            Self::List(m) => m.get(&guest).copied(),
        }
    }

    /// The host address for `guest`, or `None` when it is not allowed.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn map(&self, guest: Address) -> Option<Address> {
        self.route(guest).map(|r| r.host)
    }

    /// The host addresses this policy reaches (empty for
    /// [`Policy::AllowAll7Bit`], which claims nothing).
    pub fn host_addresses(&self) -> Vec<Address> {
        match self {
            Self::AllowAll7Bit => Vec::new(),
            Self::List(m) => m.values().map(|r| r.host).collect(),
        }
    }
}

/// Whether message `index` of a transfer is a write that a read-only client
/// refuses: anything but a pointer of at most `ro`'s length followed by a
/// read of the same client.
pub fn refused_by_read_only(msgs: &[Msg], index: usize, ro: ReadOnly) -> bool {
    let Some(m) = msgs.get(index) else {
        return false;
    };
    if m.is_read() {
        return false;
    }
    let pointer_of_a_read = matches!(
        msgs.get(index + 1),
        Some(next) if next.is_read() && next.addr() == m.addr()
    );
    !(pointer_of_a_read && m.len() <= ro.pointer_len())
}

/// Parses one side of an entry into its addresses.
fn side(token: &str, s: &str) -> Result<Vec<Address>, PolicyError> {
    let syntax = |reason| PolicyError::Syntax {
        token: token.to_owned(),
        reason,
    };
    let s = s.trim();
    let (ten, body) = match s.strip_prefix("10bit:") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (lo, hi) = match body.split_once('-') {
        Some((a, b)) => {
            let b = b.trim();
            let b = match b.strip_prefix("10bit:") {
                Some(rest) if ten => rest,
                Some(_) => return Err(syntax("a range cannot mix 7-bit and 10-bit addresses")),
                None => b,
            };
            (a, Some(b))
        }
        None => (body, None),
    };
    let num =
        |x: &str| parse_number(x).ok_or_else(|| syntax("expected an address such as 0x50 or 80"));
    let lo = num(lo)?;
    let hi = hi.map(num).transpose()?.unwrap_or(lo);
    if hi < lo {
        return Err(syntax("a range must go from low to high"));
    }
    let mut out = Vec::new();
    for v in lo..=hi {
        let addr = if ten {
            u16::try_from(v).ok().and_then(Address::ten)
        } else {
            u8::try_from(v).ok().and_then(Address::seven)
        }
        .ok_or(PolicyError::OutOfRange {
            token: token.to_owned(),
            value: v,
            width: if ten { 10 } else { 7 },
        })?;
        if addr.is_reserved() {
            return Err(PolicyError::Reserved {
                token: token.to_owned(),
                addr,
            });
        }
        out.push(addr);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(a: u8) -> Address {
        Address::seven(a).unwrap()
    }

    fn t(a: u16) -> Address {
        Address::ten(a).unwrap()
    }

    #[test]
    fn parses_the_documented_example() {
        let p = Policy::parse("0x50,0x52-0x53,0x60=0x61").unwrap();
        assert_eq!(p.map(s(0x50)), Some(s(0x50)));
        assert_eq!(p.map(s(0x51)), None);
        assert_eq!(p.map(s(0x52)), Some(s(0x52)));
        assert_eq!(p.map(s(0x53)), Some(s(0x53)));
        assert_eq!(p.map(s(0x60)), Some(s(0x61)));
        assert_eq!(p.map(s(0x61)), None);
        assert_eq!(p.host_addresses(), vec![s(0x50), s(0x52), s(0x53), s(0x61)]);
    }

    #[test]
    fn decimal_ranges_remaps_and_ten_bit() {
        let p =
            Policy::parse(" 80 , 0x20-0x21=0x30-0x31, 10bit:0x150, 10bit:0x100-0x101=0x40-0x41")
                .unwrap();
        assert_eq!(p.map(s(80)), Some(s(0x50)));
        assert_eq!(p.map(s(0x21)), Some(s(0x31)));
        assert_eq!(p.map(t(0x150)), Some(t(0x150)));
        assert_eq!(p.map(t(0x101)), Some(s(0x41)));
        assert_eq!(p.map(t(0x50)), None);
    }

    #[test]
    fn errors_name_the_token() {
        let e = |x: &str| Policy::parse(x).unwrap_err();
        assert_eq!(e(""), PolicyError::Empty);
        assert_eq!(e(" , "), PolicyError::Empty);
        assert_eq!(
            e("0x50,0x05"),
            PolicyError::Reserved {
                token: "0x05".into(),
                addr: s(5)
            }
        );
        assert_eq!(
            e("0x76-0x79").to_string(),
            "'0x76-0x79': 0x78 is reserved (0x00-0x07 and 0x78-0x7f are reserved by the I2C specification)"
        );
        assert_eq!(
            e("0x50=0x00"),
            PolicyError::Reserved {
                token: "0x50=0x00".into(),
                addr: s(0)
            }
        );
        assert_eq!(
            e("0x80"),
            PolicyError::OutOfRange {
                token: "0x80".into(),
                value: 0x80,
                width: 7
            }
        );
        assert_eq!(
            e("10bit:0x400").to_string(),
            "'10bit:0x400': 0x400 is not a 10-bit address"
        );
        assert_eq!(
            e("0x50,0x4f-0x51"),
            PolicyError::DuplicateGuest {
                token: "0x4f-0x51".into(),
                addr: s(0x50)
            }
        );
        assert_eq!(
            e("0x50,0x51=0x50"),
            PolicyError::DuplicateHost {
                token: "0x51=0x50".into(),
                addr: s(0x50)
            }
        );
        assert_eq!(
            e("0x50-0x52=0x60"),
            PolicyError::RangeLength {
                token: "0x50-0x52=0x60".into(),
                guest: 3,
                host: 1
            }
        );
        for bad in [
            "0xzz",
            "0x",
            "-1",
            "0x50-",
            "0x52-0x50",
            "50h",
            "0x50=0x51=0x52",
            "10bit:0x100-0x50x",
        ] {
            assert!(
                matches!(e(bad), PolicyError::Syntax { .. }),
                "{bad}: {:?}",
                e(bad)
            );
        }
        assert!(matches!(
            e("10bit:0x100-10bit:0x101,0x10-10bit:0x11"),
            PolicyError::Syntax { .. }
        ));
    }

    #[test]
    fn read_only_entries() {
        let p = Policy::parse("0x50-0x51:ro,0x60=0x61:ro,0x52,10bit:0x150:ro2").unwrap();
        let ro = |a| p.route(a).map(|r| r.read_only);
        let (b, w) = (Some(ReadOnly::BYTE), Some(ReadOnly::WORD));
        assert_eq!(ro(s(0x50)), Some(b));
        assert_eq!(ro(s(0x51)), Some(b));
        assert_eq!(p.route(s(0x60)), Some(Route { host: s(0x61), read_only: b }));
        assert_eq!(ro(s(0x52)), Some(None));
        assert_eq!(ro(t(0x150)), Some(w));
        assert_eq!(p.host_addresses(), vec![s(0x50), s(0x51), s(0x52), s(0x61), t(0x150)]);
        let e = Policy::parse("0x50:rw").unwrap_err();
        assert!(matches!(e, PolicyError::Syntax { .. }), "{e:?}");
        assert!(matches!(Policy::parse(":ro").unwrap_err(), PolicyError::Syntax { .. }));
    }

    #[test]
    fn read_only_allows_a_pointer_before_a_read_and_nothing_else() {
        let w = |a, n| Msg::write(s(a), vec![0; n]).unwrap();
        let r = |a, n| Msg::read(s(a), n).unwrap();
        let (b, wd) = (ReadOnly::BYTE, ReadOnly::WORD);
        // A pointer of the client's width, then a read of the same client.
        assert!(!refused_by_read_only(&[w(0x50, 1), r(0x50, 8)], 0, b));
        assert!(!refused_by_read_only(&[w(0x50, 1), r(0x50, 8)], 0, wd));
        assert!(!refused_by_read_only(&[w(0x50, 2), r(0x50, 8)], 0, wd));
        assert!(!refused_by_read_only(&[r(0x50, 8)], 0, b));
        // A 2-byte write to a 1-byte-pointer client is a pointer and data.
        assert!(refused_by_read_only(&[w(0x50, 2), r(0x50, 8)], 0, b));
        // Longer, alone, last, or followed by another client or a write.
        assert!(refused_by_read_only(&[w(0x50, 3), r(0x50, 8)], 0, wd));
        assert!(refused_by_read_only(&[w(0x50, 1)], 0, wd));
        assert!(refused_by_read_only(&[w(0x50, 0)], 0, b));
        assert!(refused_by_read_only(&[r(0x50, 1), w(0x50, 1)], 1, b));
        assert!(refused_by_read_only(&[w(0x50, 1), r(0x51, 1)], 0, b));
        assert!(refused_by_read_only(&[w(0x50, 1), w(0x50, 1), r(0x50, 1)], 0, b));
        assert!(!refused_by_read_only(&[w(0x50, 1), w(0x50, 1), r(0x50, 1)], 1, b));
    }

    #[test]
    fn read_only_pointer_widths() {
        assert_eq!(ReadOnly::with_pointer_len(1), Some(ReadOnly::BYTE));
        assert_eq!(ReadOnly::with_pointer_len(2), Some(ReadOnly::WORD));
        assert_eq!(ReadOnly::with_pointer_len(0), None);
        assert_eq!(ReadOnly::with_pointer_len(3), None);
        let p = Policy::parse("0x50:ro,0x51:ro2,0x52").unwrap();
        assert_eq!(p.route(s(0x50)).unwrap().read_only, Some(ReadOnly::BYTE));
        assert_eq!(p.route(s(0x51)).unwrap().read_only, Some(ReadOnly::WORD));
        assert_eq!(p.route(s(0x52)).unwrap().read_only, None);
        assert!(matches!(Policy::parse("0x50:ro3").unwrap_err(), PolicyError::Syntax { .. }));
    }

    #[test]
    fn allow_all_refuses_reserved_and_ten_bit() {
        let p = Policy::AllowAll7Bit;
        assert_eq!(p.map(s(0x08)), Some(s(0x08)));
        assert_eq!(p.map(s(0x77)), Some(s(0x77)));
        assert_eq!(p.map(s(0x07)), None);
        assert_eq!(p.map(s(0x78)), None);
        assert_eq!(p.map(t(0x50)), None);
        assert!(p.host_addresses().is_empty());
    }
}
