// SPDX-License-Identifier: GPL-2.0-or-later
//! Linux i2c-dev adapters (`/dev/i2c-N`): the only code in the crate that
//! issues ioctls.
//!
//! [`LinuxAdapter`] opens an adapter by path, number or adapter name,
//! reads its functionality (`I2C_FUNCS`) once, and implements
//! [`I2cAdapter`] with one `I2C_RDWR` per combined transfer and one
//! `I2C_SMBUS` per SMBus transaction. [`LinuxAdapter::claim`] gives a user
//! exclusive use of an address, against kernel drivers and against other
//! processes.
//!
//! # Invariants
//! - Every system call is in the small wrappers of the `sys` module at the
//!   end of this file. Each takes only arguments it can check itself (an
//!   enum of by-value ioctls, references, or [`RawMsgs`], which borrows the
//!   buffers its pointers point into), so the wrappers are safe functions
//!   and their `unsafe` blocks are the only ones here besides
//!   [`block_all_signals`].
//! - Lengths and counts cross into kernel structs through checked
//!   conversions (`u16::try_from`), never `as`: a length that does not fit
//!   is an error, not a shorter message.
//! - Every failed system call keeps its errno:
//!   `HostError::Os { op, adapter, errno }` names the call.
//! - The target of the file's i2c-dev client (`I2C_SLAVE`, `I2C_TENBIT`) is
//!   cached to skip redundant ioctls; a failed ioctl forgets the cache, so
//!   the next transaction sets the target again.
//! - A claim is an OFD write lock (`F_OFD_SETLK`) on one byte of the device
//!   node: offset = address for 7-bit addresses, `0x400` + address for
//!   10-bit ones. It belongs to this adapter's open file description, so it
//!   conflicts with every other open of the node (all its names, symlinks
//!   included, share the inode), in this process or another; it ends when
//!   the adapter is dropped and never leaks through `exec` (`O_CLOEXEC`).
//!
//! # Adapter-wide settings
//! `I2C_TIMEOUT` and `I2C_RETRIES` ([`LinuxOptions`]) change the kernel's
//! adapter, not this file: they apply to every user of the adapter until
//! someone sets them again.
#![cfg(target_os = "linux")]
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::marker::PhantomData;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::smbus::BLOCK_MAX;
use super::uapi::{
    i2c_msg, i2c_smbus_data, I2C_M_RD, I2C_M_TEN, I2C_SMBUS_BLOCK_DATA, I2C_SMBUS_BYTE,
    I2C_SMBUS_BYTE_DATA, I2C_SMBUS_I2C_BLOCK_DATA, I2C_SMBUS_PROC_CALL, I2C_SMBUS_QUICK,
    I2C_SMBUS_READ, I2C_SMBUS_WORD_DATA, I2C_SMBUS_WRITE,
};
use super::{Address, Failure, Funcs, HostError, I2cAdapter, Msg, SmbusData, SmbusSize, SmbusXfer};

/// Where the kernel lists I2C adapters (`i2c-N`) and clients (`N-00aa`).
pub const SYSFS_I2C_DEVICES: &str = "/sys/bus/i2c/devices";

/// Where the i2c-dev nodes (`i2c-N`) are.
pub const DEV_ROOT: &str = "/dev";

/// Lock offset of 10-bit addresses, past every 7-bit one, so that the 7-bit
/// address 0x50 and the 10-bit address 0x050 are different claims.
const TEN_BIT_LOCK_BASE: u16 = 0x400;

/// Settings applied to the adapter at [`LinuxAdapter::open`]; `None` leaves
/// the kernel's value alone. Both are adapter-wide (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinuxOptions {
    /// Transfer timeout in milliseconds (`I2C_TIMEOUT`, which counts in
    /// units of 10 ms: rounded up). `Some(0)` is refused with `EINVAL`: a
    /// zero timeout makes most bus drivers fail every transfer.
    pub timeout_ms: Option<u32>,
    /// How often the bus driver retries a transfer the target did not
    /// acknowledge (`I2C_RETRIES`).
    pub retries: Option<u32>,
}

/// A host I2C adapter reached through i2c-dev.
#[derive(Debug)]
pub struct LinuxAdapter {
    file: File,
    /// The adapter as the user named it (path, number or name).
    name: String,
    funcs: Funcs,
    /// Claimed addresses, each with whether it was forced past a driver.
    claims: BTreeMap<Address, bool>,
    /// The client's target address (`I2C_SLAVE`), when known.
    target: Option<Address>,
    /// Whether the client is in 10-bit mode (`I2C_TENBIT`), when known.
    ten_bit: Option<bool>,
}

impl LinuxAdapter {
    /// Opens the adapter `host`: a path (`/dev/i2c-3`, or any symlink to
    /// it), a number (`3` for `/dev/i2c-3`), or an adapter name as in
    /// `/sys/bus/i2c/devices/i2c-*/name` (see [`resolve`]). Reads the
    /// adapter's functionality and applies `opts`.
    ///
    /// # Errors
    /// [`HostError::NotFound`] when nothing matches `host` or the node does
    /// not exist; [`HostError::Os`] with the failing call (`open`,
    /// `I2C_FUNCS`, `I2C_TIMEOUT`, `I2C_RETRIES`) otherwise. A file that is
    /// not an i2c-dev node fails `I2C_FUNCS` with `ENOTTY`, and the error
    /// says so.
    pub fn open(host: &str, opts: &LinuxOptions) -> Result<Self, HostError> {
        Self::open_in(
            host,
            Path::new(SYSFS_I2C_DEVICES),
            Path::new(DEV_ROOT),
            opts,
        )
    }

    /// [`LinuxAdapter::open`] with other sysfs and /dev roots.
    fn open_in(
        host: &str,
        sysfs: &Path,
        dev: &Path,
        opts: &LinuxOptions,
    ) -> Result<Self, HostError> {
        let path = resolve(host, sysfs, dev)?;
        let label = if Path::new(host) == path {
            host.to_owned()
        } else {
            format!("{host} ({})", path.display())
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ENOENT) => HostError::NotFound(format!(
                    "{} does not exist (is the i2c-dev module loaded?)",
                    path.display()
                )),
                errno => HostError::Os {
                    op: "open",
                    adapter: label.clone(),
                    errno: errno.unwrap_or(libc::EIO),
                },
            })?;
        let funcs = sys::funcs(&file).map_err(|errno| HostError::Os {
            op: "I2C_FUNCS",
            adapter: if errno == libc::ENOTTY {
                format!("{label} (not an i2c-dev adapter)")
            } else {
                label.clone()
            },
            errno,
        })?;
        let mut adapter = Self::from_file(file, host, Funcs(funcs));
        adapter.apply(opts)?;
        Ok(adapter)
    }

    /// An adapter on an already open file with the given functionality,
    /// without any ioctl: for tests of the error paths on a file that is not
    /// an i2c-dev node.
    pub(crate) fn from_file(file: File, name: &str, funcs: Funcs) -> Self {
        Self {
            file,
            name: name.to_owned(),
            funcs,
            claims: BTreeMap::new(),
            target: None,
            // A freshly opened i2c-dev client has no flags (7-bit mode).
            ten_bit: Some(false),
        }
    }

    fn os(&self, op: &'static str, errno: i32) -> HostError {
        HostError::Os {
            op,
            adapter: self.name.clone(),
            errno,
        }
    }

    /// Applies the adapter-wide options.
    fn apply(&mut self, opts: &LinuxOptions) -> Result<(), HostError> {
        if let Some(ms) = opts.timeout_ms {
            let units = timeout_units(ms).ok_or_else(|| self.os("I2C_TIMEOUT", libc::EINVAL))?;
            self.set(sys::ValueIoctl::Timeout, libc::c_ulong::from(units))?;
        }
        if let Some(n) = opts.retries {
            self.set(sys::ValueIoctl::Retries, libc::c_ulong::from(n))?;
        }
        Ok(())
    }

    /// A by-value ioctl; on failure the cached target is forgotten.
    fn set(&mut self, req: sys::ValueIoctl, arg: libc::c_ulong) -> Result<(), HostError> {
        sys::ioctl_value(&self.file, req, arg).map_err(|errno| {
            self.target = None;
            if req == sys::ValueIoctl::TenBit {
                self.ten_bit = None;
            }
            self.os(req.name(), errno)
        })
    }

    /// Points the client at `addr` (`I2C_TENBIT` when the width changes,
    /// then `I2C_SLAVE`, or `I2C_SLAVE_FORCE` with `force`), unless it is
    /// already there. `EBUSY` from `I2C_SLAVE` (a kernel driver is bound to
    /// the address) is [`HostError::Busy`].
    fn set_target(&mut self, addr: Address, force: bool) -> Result<(), HostError> {
        if self.target == Some(addr) {
            return Ok(());
        }
        let ten = addr.is_ten_bit();
        if self.ten_bit != Some(ten) {
            self.set(sys::ValueIoctl::TenBit, libc::c_ulong::from(ten))?;
            self.ten_bit = Some(ten);
        }
        let req = if force {
            sys::ValueIoctl::SlaveForce
        } else {
            sys::ValueIoctl::Slave
        };
        match self.set(req, libc::c_ulong::from(addr.value())) {
            Ok(()) => {
                self.target = Some(addr);
                Ok(())
            }
            Err(HostError::Os { errno, .. }) if errno == libc::EBUSY && !force => {
                Err(HostError::Busy {
                    adapter: self.name.clone(),
                    addr,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Takes the inter-process claim on `addr`: an OFD write lock on its
    /// byte of the device node (see the module docs). Taking a lock this
    /// adapter already holds succeeds.
    ///
    /// # Errors
    /// [`HostError::Claimed`] when another open file description holds the
    /// lock, with the holder's pid when the kernel reports one (it does for
    /// classic POSIX locks, not for OFD locks); [`HostError::Os`] when
    /// `fcntl` fails otherwise.
    pub(crate) fn lock(&self, addr: Address) -> Result<(), HostError> {
        let range = lock_range(addr, libc::F_WRLCK).map_err(|e| self.os("F_OFD_SETLK", e))?;
        // The holder may let go between SETLK and GETLK: then try again,
        // once; a holder that keeps coming back is reported without pid.
        for _ in 0..2 {
            let mut fl = range;
            match sys::fcntl_lock(&self.file, sys::LockCmd::OfdSet, &mut fl) {
                Ok(()) => return Ok(()),
                Err(e) if e == libc::EAGAIN || e == libc::EACCES => {}
                Err(e) => return Err(self.os("F_OFD_SETLK", e)),
            }
            let mut probe = range;
            sys::fcntl_lock(&self.file, sys::LockCmd::OfdGet, &mut probe)
                .map_err(|e| self.os("F_OFD_GETLK", e))?;
            if libc::c_int::from(probe.l_type) != libc::F_UNLCK {
                return Err(self.claimed(addr, (probe.l_pid > 0).then_some(probe.l_pid)));
            }
        }
        Err(self.claimed(addr, None))
    }

    fn claimed(&self, addr: Address, pid: Option<i32>) -> HostError {
        HostError::Claimed {
            adapter: self.name.clone(),
            addr,
            pid,
        }
    }

    /// Releases the lock [`LinuxAdapter::lock`] took on `addr`.
    pub(crate) fn unlock(&self, addr: Address) -> Result<(), HostError> {
        let mut fl = lock_range(addr, libc::F_UNLCK).map_err(|e| self.os("F_OFD_SETLK", e))?;
        sys::fcntl_lock(&self.file, sys::LockCmd::OfdSet, &mut fl)
            .map_err(|e| self.os("F_OFD_SETLK", e))
    }

    /// Whether a kernel driver is bound to `addr`: `I2C_SLAVE` fails with
    /// `EBUSY` then, and `I2C_SLAVE_FORCE` takes it anyway with `force`.
    fn check_busy(&mut self, addr: Address, force: bool) -> Result<(), HostError> {
        // Always ask the kernel: a cached target says nothing about drivers.
        self.target = None;
        match self.set_target(addr, false) {
            Err(HostError::Busy { .. }) if force => self.set_target(addr, true),
            other => other,
        }
    }
}

/// `I2C_TIMEOUT`'s argument for `ms` milliseconds: 10 ms units, rounded
/// up; `None` for 0.
fn timeout_units(ms: u32) -> Option<u32> {
    (ms > 0).then(|| ms.div_ceil(10))
}

/// A one-byte lock range for `addr` (see the module docs), of type
/// `l_type` (`F_WRLCK` or `F_UNLCK`). Errors are errno values.
fn lock_range(addr: Address, l_type: libc::c_int) -> Result<libc::flock, i32> {
    let offset = match addr {
        Address::Seven(a) => u16::from(a),
        Address::Ten(a) => TEN_BIT_LOCK_BASE + a,
    };
    // SAFETY: `flock` is a C struct of integers (plus padding on some
    // architectures), for which all-zero bytes are a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::c_short::try_from(l_type).map_err(|_| libc::EINVAL)?;
    fl.l_whence = libc::c_short::try_from(libc::SEEK_SET).map_err(|_| libc::EINVAL)?;
    fl.l_start = libc::off_t::from(offset);
    fl.l_len = 1;
    // OFD lock requests must carry l_pid = 0 (zeroed above), or EINVAL.
    Ok(fl)
}

impl I2cAdapter for LinuxAdapter {
    fn funcs(&self) -> Funcs {
        self.funcs
    }

    /// One `I2C_RDWR` for the whole group. i2c-dev does not say how far a
    /// failed transfer got, so failures report 0 completed messages, except
    /// a short count, which fails with `EIO` and the count the kernel gave.
    fn rdwr(&mut self, msgs: &mut [Msg]) -> Result<(), Failure> {
        let count = msgs.len();
        let mut raw = RawMsgs::new(msgs)?;
        let done = sys::rdwr(&self.file, &mut raw).map_err(|errno| self.os("I2C_RDWR", errno))?;
        if usize::try_from(done).is_ok_and(|d| d == count) {
            return Ok(());
        }
        Err(Failure {
            completed: usize::try_from(done).map_or(0, |d| d.min(count)),
            error: self.os("I2C_RDWR", libc::EIO),
        })
    }

    /// `I2C_SLAVE` (or `I2C_SLAVE_FORCE` for an address claimed with force,
    /// nothing when the client already points there), then one
    /// `I2C_SMBUS`. A transaction i2c-dev would refuse (a block of 0 or more
    /// than 32 bytes, data of the wrong kind) fails with `EINVAL` before
    /// the ioctl.
    fn smbus(&mut self, addr: Address, xfer: &mut SmbusXfer) -> Result<(), HostError> {
        let force = self.claims.get(&addr).copied().unwrap_or(false);
        self.set_target(addr, force)?;
        let mut args = encode(xfer).ok_or_else(|| self.os("I2C_SMBUS", libc::EINVAL))?;
        sys::smbus(&self.file, &mut args).map_err(|errno| self.os("I2C_SMBUS", errno))?;
        decode(&args, xfer);
        Ok(())
    }

    /// Claims `addr`: first the inter-process lock, then the kernel-driver
    /// check (`I2C_TENBIT` as needed, `I2C_SLAVE`; `I2C_SLAVE_FORCE` with
    /// `force`). When the check fails, the lock is released again. Claiming
    /// an address twice succeeds (`force` accumulates).
    fn claim(&mut self, addr: Address, force: bool) -> Result<(), HostError> {
        if addr.is_ten_bit() && !self.funcs.has(Funcs::TEN_BIT_ADDR) {
            return Err(HostError::TenBitUnsupported {
                adapter: self.name.clone(),
            });
        }
        if let Some(forced) = self.claims.get_mut(&addr) {
            *forced |= force;
            return Ok(());
        }
        self.lock(addr)?;
        if let Err(e) = self.check_busy(addr, force) {
            // The check's error is the one to report; an unlock that fails
            // leaves the lock until the adapter closes, nothing worse.
            let _ = self.unlock(addr);
            return Err(e);
        }
        self.claims.insert(addr, force);
        Ok(())
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

/// The `i2c_msg` array of one `I2C_RDWR`, pointing into the buffers of the
/// messages it was built from, which it borrows exclusively for its whole
/// life.
///
/// Invariant: each entry's `buf` points to the start of one message's
/// buffer and `len` is that buffer's exact length, so the kernel may read
/// or write `len` bytes there.
struct RawMsgs<'a> {
    msgs: Vec<i2c_msg>,
    _bufs: PhantomData<&'a mut [Msg]>,
}

impl<'a> RawMsgs<'a> {
    fn new(msgs: &'a mut [Msg]) -> Result<Self, HostError> {
        let raw = msgs
            .iter_mut()
            .map(|m| {
                let len = u16::try_from(m.buf.len())
                    .map_err(|_| HostError::MessageTooLong { len: m.buf.len() })?;
                let mut flags = 0;
                if m.read {
                    flags |= I2C_M_RD;
                }
                if m.addr.is_ten_bit() {
                    flags |= I2C_M_TEN;
                }
                Ok(i2c_msg {
                    addr: m.addr.value(),
                    flags,
                    len,
                    buf: m.buf.as_mut_ptr(),
                })
            })
            .collect::<Result<Vec<_>, HostError>>()?;
        Ok(Self {
            msgs: raw,
            _bufs: PhantomData,
        })
    }
}

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
fn encode(x: &SmbusXfer) -> Option<sys::SmbusArgs> {
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
    Some(sys::SmbusArgs {
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
fn decode(args: &sys::SmbusArgs, x: &mut SmbusXfer) {
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

/// The adapters in `sysfs` (normally [`SYSFS_I2C_DEVICES`]): each `i2c-N`
/// entry with the contents of its `name` file (trailing newline removed),
/// sorted by number. Client entries (`N-00aa`) and entries whose name
/// cannot be read are left out.
///
/// # Errors
/// When `sysfs` cannot be listed.
pub fn adapters(sysfs: &Path) -> io::Result<Vec<(u32, String)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(sysfs)? {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(nr) = file_name
            .to_str()
            .and_then(|f| f.strip_prefix("i2c-"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Ok(name) = std::fs::read_to_string(entry.path().join("name")) {
            let name = name.strip_suffix('\n').unwrap_or(&name);
            out.push((nr, name.to_owned()));
        }
    }
    out.sort();
    Ok(out)
}

/// The device node `host` names, with the sysfs and /dev roots given (the
/// real ones are [`SYSFS_I2C_DEVICES`] and [`DEV_ROOT`]):
/// - anything with a `/` is a path, taken as it is;
/// - a decimal number N is `<dev>/i2c-N`;
/// - anything else is an adapter name, matched exactly against the `name`
///   of each `<sysfs>/i2c-N`.
///
/// Whether the node exists is left to the open.
///
/// # Errors
/// [`HostError::NotFound`] for an empty `host`, a number out of range, a
/// name no adapter has (the message lists the adapters there are), or one
/// that several adapters have (the message names their numbers).
pub fn resolve(host: &str, sysfs: &Path, dev: &Path) -> Result<PathBuf, HostError> {
    if host.is_empty() {
        return Err(HostError::NotFound("empty I2C adapter name".to_owned()));
    }
    if host.contains('/') {
        return Ok(PathBuf::from(host));
    }
    if host.bytes().all(|b| b.is_ascii_digit()) {
        return host
            .parse::<u32>()
            .map(|nr| dev.join(format!("i2c-{nr}")))
            .map_err(|_| HostError::NotFound(format!("no I2C adapter number {host}")));
    }
    let all = adapters(sysfs).map_err(|e| {
        HostError::NotFound(format!(
            "no I2C adapter named \"{host}\": cannot list {}: {e}",
            sysfs.display()
        ))
    })?;
    let matching: Vec<u32> = all
        .iter()
        .filter(|(_, name)| name == host)
        .map(|(nr, _)| *nr)
        .collect();
    match matching.as_slice() {
        [nr] => Ok(dev.join(format!("i2c-{nr}"))),
        [] if all.is_empty() => Err(HostError::NotFound(format!(
            "no I2C adapter named \"{host}\": there are no I2C adapters in {}",
            sysfs.display()
        ))),
        [] => {
            let list: Vec<String> = all
                .iter()
                .map(|(nr, name)| format!("{nr} \"{name}\""))
                .collect();
            Err(HostError::NotFound(format!(
                "no I2C adapter named \"{host}\"; the adapters are (number \"name\"): {}",
                list.join(", ")
            )))
        }
        several => {
            let list: Vec<String> = several.iter().map(u32::to_string).collect();
            Err(HostError::NotFound(format!(
                "I2C adapter name \"{host}\" is ambiguous: adapters {} all have it; \
                 give the number or /dev path instead",
                list.join(", ")
            )))
        }
    }
}

/// Blocks every signal for the calling thread (`pthread_sigmask`), as QEMU
/// does for its own threads: the library's worker thread must not run
/// QEMU's signal handlers, which expect QEMU's threads. glibc keeps its
/// internal signals unblockable.
///
/// # Errors
/// The errno of `sigfillset` or `pthread_sigmask`.
pub fn block_all_signals() -> io::Result<()> {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `set` is valid for writes of a `sigset_t`; sigfillset
    // initialises all of it and reads nothing.
    if unsafe { libc::sigfillset(set.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: sigfillset returned 0, so it initialised `set`.
    let set = unsafe { set.assume_init() };
    // SAFETY:
    // - `set` is an initialised `sigset_t` that outlives the call, which
    //   only reads it;
    // - the old-set pointer may be NULL, meaning "not wanted".
    let rc =
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, std::ptr::null_mut()) };
    // pthread_sigmask returns the error number instead of setting errno.
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// The system calls, each a safe function: arguments are checked or typed
/// so that the kernel only ever dereferences memory the caller lends for
/// the call. Errors are errno values.
mod sys {
    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;

    use super::super::uapi::{
        i2c_rdwr_ioctl_data, i2c_smbus_data, i2c_smbus_ioctl_data, I2C_FUNCS, I2C_RDWR,
        I2C_RETRIES, I2C_SLAVE, I2C_SLAVE_FORCE, I2C_SMBUS, I2C_TENBIT, I2C_TIMEOUT,
    };
    use super::RawMsgs;

    fn errno() -> i32 {
        io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    }

    /// The i2c-dev ioctls whose argument is an integer passed by value: the
    /// kernel reads the argument itself and dereferences nothing.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum ValueIoctl {
        Retries,
        Timeout,
        Slave,
        SlaveForce,
        TenBit,
    }

    impl ValueIoctl {
        fn request(self) -> u16 {
            match self {
                Self::Retries => I2C_RETRIES,
                Self::Timeout => I2C_TIMEOUT,
                Self::Slave => I2C_SLAVE,
                Self::SlaveForce => I2C_SLAVE_FORCE,
                Self::TenBit => I2C_TENBIT,
            }
        }

        /// The request's name, for [`HostError::Os`](super::HostError::Os).
        pub(super) fn name(self) -> &'static str {
            match self {
                Self::Retries => "I2C_RETRIES",
                Self::Timeout => "I2C_TIMEOUT",
                Self::Slave => "I2C_SLAVE",
                Self::SlaveForce => "I2C_SLAVE_FORCE",
                Self::TenBit => "I2C_TENBIT",
            }
        }
    }

    /// `ioctl(fd, req, arg)` for a by-value request.
    pub(super) fn ioctl_value(file: &File, req: ValueIoctl, arg: libc::c_ulong) -> Result<(), i32> {
        // SAFETY:
        // - the fd is open for the life of `file`;
        // - every `ValueIoctl` takes its argument by value (an
        //   `unsigned long` in i2c-dev), so no memory is accessed through it.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::Ioctl::from(req.request()), arg) };
        if rc < 0 {
            Err(errno())
        } else {
            Ok(())
        }
    }

    /// `I2C_FUNCS`: the adapter's functionality bits.
    pub(super) fn funcs(file: &File) -> Result<u64, i32> {
        let mut funcs: libc::c_ulong = 0;
        // SAFETY:
        // - the fd is open for the life of `file`;
        // - I2C_FUNCS writes one `unsigned long` through its argument, which
        //   points to `funcs`, a live and exclusively borrowed `c_ulong`.
        let rc = unsafe {
            libc::ioctl(
                file.as_raw_fd(),
                libc::Ioctl::from(I2C_FUNCS),
                &raw mut funcs,
            )
        };
        if rc < 0 {
            return Err(errno());
        }
        #[allow(
            clippy::useless_conversion,
            reason = "c_ulong is u64 here, but u32 on 32-bit targets"
        )]
        let funcs = u64::from(funcs);
        Ok(funcs)
    }

    /// `I2C_RDWR` on `msgs`: the number of messages the kernel transferred.
    pub(super) fn rdwr(file: &File, msgs: &mut RawMsgs<'_>) -> Result<libc::c_int, i32> {
        // A count past u32 cannot reach the kernel; it refuses more than 42
        // messages itself (EINVAL), as it would this.
        let nmsgs = u32::try_from(msgs.msgs.len()).map_err(|_| libc::EINVAL)?;
        let mut data = i2c_rdwr_ioctl_data {
            msgs: msgs.msgs.as_mut_ptr(),
            nmsgs,
        };
        // SAFETY:
        // - the fd is open for the life of `file`;
        // - `data` is live for the call and points to `nmsgs` `i2c_msg`s in
        //   `msgs`, which the kernel reads;
        // - by the invariant of `RawMsgs`, each message's `buf` points to a
        //   buffer of exactly `len` bytes, borrowed exclusively by `msgs`
        //   for its whole life, so the kernel may read (writes) or fill
        //   (reads) them; nothing else touches them during the call.
        let rc =
            unsafe { libc::ioctl(file.as_raw_fd(), libc::Ioctl::from(I2C_RDWR), &raw mut data) };
        if rc < 0 {
            Err(errno())
        } else {
            Ok(rc)
        }
    }

    /// The fields of `struct i2c_smbus_ioctl_data`, with the data by value
    /// (`None` for NULL) instead of a pointer.
    pub(super) struct SmbusArgs {
        pub(super) read_write: u8,
        pub(super) command: u8,
        pub(super) size: u32,
        pub(super) data: Option<i2c_smbus_data>,
    }

    /// `I2C_SMBUS` with `args`; read data lands in `args.data`.
    pub(super) fn smbus(file: &File, args: &mut SmbusArgs) -> Result<(), i32> {
        let mut ioctl_data = i2c_smbus_ioctl_data {
            read_write: args.read_write,
            command: args.command,
            size: args.size,
            data: args
                .data
                .as_mut()
                .map_or(std::ptr::null_mut(), std::ptr::from_mut),
        };
        // SAFETY:
        // - the fd is open for the life of `file`;
        // - `ioctl_data` is live for the call, and the kernel reads it;
        // - its `data` is NULL (the kernel then accesses no data, or fails
        //   with EINVAL where the size needs some) or points to a whole
        //   `i2c_smbus_data` in `args`, exclusively borrowed for the call;
        //   the kernel copies at most `sizeof(union i2c_smbus_data)` bytes
        //   in and out.
        let rc = unsafe {
            libc::ioctl(
                file.as_raw_fd(),
                libc::Ioctl::from(I2C_SMBUS),
                &raw mut ioctl_data,
            )
        };
        if rc < 0 {
            Err(errno())
        } else {
            Ok(())
        }
    }

    /// The lock commands of `fcntl`, all of which take a `struct flock *`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum LockCmd {
        OfdSet,
        OfdGet,
        /// Classic POSIX locks, owned by the process: only to test that
        /// their holder's pid is reported.
        #[cfg(test)]
        PosixSet,
    }

    /// `fcntl(fd, cmd, fl)`: sets the lock `fl` describes, or (`OfdGet`)
    /// replaces `fl` with a lock that would conflict with it, or sets
    /// `l_type` to `F_UNLCK` when none would.
    pub(super) fn fcntl_lock(file: &File, cmd: LockCmd, fl: &mut libc::flock) -> Result<(), i32> {
        let cmd = match cmd {
            LockCmd::OfdSet => libc::F_OFD_SETLK,
            LockCmd::OfdGet => libc::F_OFD_GETLK,
            #[cfg(test)]
            LockCmd::PosixSet => libc::F_SETLK,
        };
        // SAFETY:
        // - the fd is open for the life of `file`;
        // - every `LockCmd` takes a `struct flock *`; `fl` is a live,
        //   exclusively borrowed `flock` the kernel reads and, for GETLK,
        //   writes.
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), cmd, std::ptr::from_mut(fl)) };
        if rc < 0 {
            Err(errno())
        } else {
            Ok(())
        }
    }
}
