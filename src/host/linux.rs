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
//! - Every ioctl and `fcntl` is in the small wrappers of the `sys` module
//!   at the end of this file. Each takes only arguments it can check itself
//!   (an enum of by-value ioctls, references, or `RawMsgs`, which borrows
//!   the buffers its pointers point into), so the wrappers are safe
//!   functions. The only other `unsafe` code zeroes a `struct flock`, reads
//!   back the SMBus data union, and sets the signal mask
//!   ([`block_all_signals`]).
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
    /// How often the I2C core repeats a transfer the bus driver gave up
    /// with `EAGAIN` (lost arbitration, mostly) (`I2C_RETRIES`).
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

    /// The outcome of an `I2C_RDWR` on `msgs` that returned `done`, the
    /// number of messages the bus driver ran (see [`I2cAdapter::rdwr`]).
    fn check_count(&self, msgs: &[Msg], done: libc::c_int) -> Result<(), Failure> {
        let done = usize::try_from(done).map_or(0, |d| d.min(msgs.len()));
        match msgs.get(done) {
            None => Ok(()),
            Some(m) => Err(Failure {
                completed: done,
                error: HostError::Nack { addr: m.addr },
            }),
        }
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

    /// One `I2C_RDWR` for the whole group.
    ///
    /// An errno does not say how far the transfer got: such failures report
    /// 0 completed messages. Some bus drivers (i2c-virtio among them) report
    /// a failed message with a short count instead of an errno, and the
    /// common cause is a target that did not acknowledge: a short count
    /// `n` fails with `n` completed messages and [`HostError::Nack`] for
    /// message `n`'s address.
    fn rdwr(&mut self, msgs: &mut [Msg]) -> Result<(), Failure> {
        let count = msgs.len();
        if count == 0 {
            return Err(HostError::EmptyTransfer.into());
        }
        let mut raw = RawMsgs::new(msgs)?;
        let done = sys::rdwr(&self.file, &mut raw).map_err(|errno| self.os("I2C_RDWR", errno))?;
        drop(raw);
        self.check_count(msgs, done)
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
        sys::smbus(&self.file, &mut args).map_err(|errno| {
            // i2c-dev reports an absent target as ENXIO (or EREMOTEIO).
            if errno == libc::ENXIO || errno == libc::EREMOTEIO {
                HostError::Nack { addr }
            } else {
                self.os("I2C_SMBUS", errno)
            }
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::{Child, Command, Stdio};
    use std::sync::atomic::{AtomicU32, Ordering};

    const A50: Address = Address::Seven(0x50);
    const ALL: Funcs = Funcs(Funcs::I2C | Funcs::TEN_BIT_ADDR | Funcs::SMBUS_ALL_TRANSLATED);

    /// A directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            static N: AtomicU32 = AtomicU32::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let dir =
                std::env::temp_dir().join(format!("vi2c-linux-{}-{tag}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("create temp dir");
            Self(dir)
        }

        fn file(&self, name: &str) -> PathBuf {
            let p = self.0.join(name);
            std::fs::write(&p, b"").expect("create temp file");
            p
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn open_rw(path: &Path) -> File {
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .expect("open temp file")
    }

    /// An adapter on a regular file: every ioctl fails with ENOTTY, locks
    /// work.
    fn file_adapter(path: &Path, name: &str) -> LinuxAdapter {
        LinuxAdapter::from_file(open_rw(path), name, ALL)
    }

    fn os(op: &'static str, adapter: &str, errno: i32) -> HostError {
        HostError::Os {
            op,
            adapter: adapter.to_owned(),
            errno,
        }
    }

    /// A fake sysfs and /dev: adapters 0, 1, 2 and 5 (2 and 5 share a
    /// name), a client entry, and a /dev with regular files for 0 and 1.
    fn fake_tree() -> (TempDir, PathBuf, PathBuf) {
        let t = TempDir::new("tree");
        let sys = t.0.join("sys");
        let dev = t.0.join("dev");
        for (entry, name) in [
            ("i2c-0", "SMBus I801 adapter at f000\n"),
            ("i2c-1", "i2c-virtio\n"),
            ("i2c-2", "DPDDC-D\n"),
            ("i2c-5", "DPDDC-D\n"),
            ("0-0050", "24c02\n"),
        ] {
            std::fs::create_dir_all(sys.join(entry)).expect("mkdir");
            std::fs::write(sys.join(entry).join("name"), name).expect("write name");
        }
        std::fs::create_dir_all(&dev).expect("mkdir dev");
        std::fs::write(dev.join("i2c-0"), b"").expect("node");
        std::fs::write(dev.join("i2c-1"), b"").expect("node");
        (t, sys, dev)
    }

    // ---- host resolution ----

    #[test]
    fn resolve_takes_paths_as_they_are() {
        let (_t, sys, dev) = fake_tree();
        for p in ["/dev/i2c-3", "./i2c-1", "/dev/i2c/by-name/eeprom"] {
            assert_eq!(resolve(p, &sys, &dev), Ok(PathBuf::from(p)));
        }
    }

    #[test]
    fn resolve_maps_numbers_to_dev_nodes() {
        let (_t, sys, dev) = fake_tree();
        assert_eq!(resolve("3", &sys, &dev), Ok(dev.join("i2c-3")));
        assert_eq!(resolve("0", &sys, &dev), Ok(dev.join("i2c-0")));
        assert_eq!(resolve("012", &sys, &dev), Ok(dev.join("i2c-12")));
        assert_eq!(
            resolve("99999999999", &sys, &dev),
            Err(HostError::NotFound(
                "no I2C adapter number 99999999999".to_owned()
            ))
        );
    }

    #[test]
    fn resolve_matches_names_exactly() {
        let (_t, sys, dev) = fake_tree();
        assert_eq!(
            resolve("SMBus I801 adapter at f000", &sys, &dev),
            Ok(dev.join("i2c-0"))
        );
        assert_eq!(resolve("i2c-virtio", &sys, &dev), Ok(dev.join("i2c-1")));
        let listing = "the adapters are (number \"name\"): 0 \"SMBus I801 adapter at f000\", \
                       1 \"i2c-virtio\", 2 \"DPDDC-D\", 5 \"DPDDC-D\"";
        // Prefixes, other case, the newline itself, client names: no match.
        for host in ["SMBus I801", "i2c-VIRTIO", "i2c-virtio\n", "24c02"] {
            assert_eq!(
                resolve(host, &sys, &dev),
                Err(HostError::NotFound(format!(
                    "no I2C adapter named \"{host}\"; {listing}"
                ))),
                "{host:?}"
            );
        }
    }

    #[test]
    fn resolve_refuses_ambiguous_names() {
        let (_t, sys, dev) = fake_tree();
        assert_eq!(
            resolve("DPDDC-D", &sys, &dev),
            Err(HostError::NotFound(
                "I2C adapter name \"DPDDC-D\" is ambiguous: adapters 2, 5 all have it; \
                 give the number or /dev path instead"
                    .to_owned()
            ))
        );
    }

    #[test]
    fn resolve_reports_empty_and_missing_sysfs() {
        let t = TempDir::new("nosys");
        let empty = t.0.join("empty");
        std::fs::create_dir_all(&empty).expect("mkdir");
        let missing = t.0.join("missing");
        assert_eq!(
            resolve("x", &empty, &t.0),
            Err(HostError::NotFound(format!(
                "no I2C adapter named \"x\": there are no I2C adapters in {}",
                empty.display()
            )))
        );
        assert_eq!(
            resolve("x", &missing, &t.0),
            Err(HostError::NotFound(format!(
                "no I2C adapter named \"x\": cannot list {}: {}",
                missing.display(),
                io::Error::from_raw_os_error(libc::ENOENT)
            )))
        );
        assert_eq!(
            resolve("", &missing, &t.0),
            Err(HostError::NotFound("empty I2C adapter name".to_owned()))
        );
    }

    #[test]
    fn adapters_lists_only_adapters_in_number_order() {
        let (_t, sys, _dev) = fake_tree();
        std::fs::create_dir_all(sys.join("i2c-10")).expect("mkdir");
        std::fs::write(sys.join("i2c-10").join("name"), "no newline").expect("write");
        std::fs::create_dir_all(sys.join("i2c-11")).expect("mkdir"); // no name file
        assert_eq!(
            adapters(&sys).expect("list"),
            vec![
                (0, "SMBus I801 adapter at f000".to_owned()),
                (1, "i2c-virtio".to_owned()),
                (2, "DPDDC-D".to_owned()),
                (5, "DPDDC-D".to_owned()),
                (10, "no newline".to_owned()),
            ]
        );
    }

    // ---- open ----

    #[test]
    fn open_of_a_regular_file_is_not_an_adapter() {
        let t = TempDir::new("open");
        let path = t.file("not-i2c");
        let host = path.to_str().expect("utf-8 temp path");
        let err = LinuxAdapter::open(host, &LinuxOptions::default()).expect_err("not i2c-dev");
        assert_eq!(
            err,
            os(
                "I2C_FUNCS",
                &format!("{host} (not an i2c-dev adapter)"),
                libc::ENOTTY
            )
        );
        assert_eq!(err.errno(), libc::ENOTTY);
        assert_eq!(
            err.to_string(),
            format!(
                "I2C_FUNCS on {host} (not an i2c-dev adapter) failed: \
                 Inappropriate ioctl for device (os error 25)"
            )
        );
    }

    #[test]
    fn open_of_a_missing_path_is_not_found() {
        let t = TempDir::new("open");
        let path = t.0.join("i2c-7");
        let host = path.to_str().expect("utf-8 temp path");
        let err = LinuxAdapter::open(host, &LinuxOptions::default()).expect_err("missing");
        assert_eq!(
            err,
            HostError::NotFound(format!(
                "{host} does not exist (is the i2c-dev module loaded?)"
            ))
        );
        assert_eq!(err.errno(), libc::ENOENT);
    }

    #[test]
    fn open_by_number_and_name_uses_the_resolved_node() {
        let (_t, sys, dev) = fake_tree();
        let opts = LinuxOptions::default();
        assert_eq!(
            LinuxAdapter::open_in("9", &sys, &dev, &opts).expect_err("missing"),
            HostError::NotFound(format!(
                "{} does not exist (is the i2c-dev module loaded?)",
                dev.join("i2c-9").display()
            ))
        );
        // The fake nodes are regular files, so I2C_FUNCS fails on them.
        assert_eq!(
            LinuxAdapter::open_in("i2c-virtio", &sys, &dev, &opts).expect_err("not i2c-dev"),
            os(
                "I2C_FUNCS",
                &format!(
                    "i2c-virtio ({}) (not an i2c-dev adapter)",
                    dev.join("i2c-1").display()
                ),
                libc::ENOTTY
            )
        );
    }

    #[test]
    fn open_errors_keep_errno() {
        let t = TempDir::new("open");
        // A directory cannot be opened for writing.
        let host = t.0.to_str().expect("utf-8 temp path");
        assert_eq!(
            LinuxAdapter::open(host, &LinuxOptions::default()).expect_err("directory"),
            os("open", host, libc::EISDIR)
        );
    }

    #[test]
    fn options_are_applied_and_their_errors_named() {
        let t = TempDir::new("opts");
        let path = t.file("f");
        let opts = |timeout_ms, retries| LinuxOptions {
            timeout_ms,
            retries,
        };
        let mut a = file_adapter(&path, "a");
        assert_eq!(a.apply(&opts(None, None)), Ok(()));
        assert_eq!(
            a.apply(&opts(Some(25), Some(3))),
            Err(os("I2C_TIMEOUT", "a", libc::ENOTTY))
        );
        assert_eq!(
            a.apply(&opts(None, Some(3))),
            Err(os("I2C_RETRIES", "a", libc::ENOTTY))
        );
        assert_eq!(
            a.apply(&opts(Some(0), None)),
            Err(os("I2C_TIMEOUT", "a", libc::EINVAL))
        );
    }

    #[test]
    fn timeout_rounds_up_to_10ms_units() {
        assert_eq!(timeout_units(0), None);
        assert_eq!(timeout_units(1), Some(1));
        assert_eq!(timeout_units(10), Some(1));
        assert_eq!(timeout_units(11), Some(2));
        assert_eq!(timeout_units(1000), Some(100));
        assert_eq!(timeout_units(u32::MAX), Some(429_496_730));
    }

    // ---- rdwr ----

    #[test]
    fn raw_msgs_point_into_each_buffer() {
        let mut msgs = vec![
            Msg::write(A50, vec![1, 2, 3]),
            Msg::read(Address::Ten(0x123), 4),
            Msg::write(Address::Seven(0x7f), Vec::new()),
        ];
        let ptrs: Vec<*mut u8> = msgs.iter_mut().map(|m| m.buf.as_mut_ptr()).collect();
        let raw = RawMsgs::new(&mut msgs).expect("fits");
        let got: Vec<(u16, u16, u16, *mut u8)> = raw
            .msgs
            .iter()
            .map(|m| (m.addr, m.flags, m.len, m.buf))
            .collect();
        assert_eq!(
            got,
            vec![
                (0x50, 0, 3, ptrs[0]),
                (0x123, I2C_M_RD | I2C_M_TEN, 4, ptrs[1]),
                (0x7f, 0, 0, ptrs[2]),
            ]
        );
    }

    #[test]
    fn rdwr_refuses_empty_groups_and_lengths_past_u16() {
        let t = TempDir::new("rdwr");
        let mut a = file_adapter(&t.file("f"), "a");
        assert_eq!(
            a.rdwr(&mut []),
            Err(Failure {
                completed: 0,
                error: HostError::EmptyTransfer
            })
        );
        let mut msgs = vec![Msg::write(A50, vec![0; 0x1_0000])];
        assert_eq!(
            a.rdwr(&mut msgs),
            Err(Failure {
                completed: 0,
                error: HostError::MessageTooLong { len: 0x1_0000 }
            })
        );
    }

    #[test]
    fn rdwr_error_keeps_errno() {
        let t = TempDir::new("rdwr");
        let mut a = file_adapter(&t.file("f"), "/dev/i2c-9");
        let mut msgs = vec![Msg::write(A50, vec![0]), Msg::read(A50, 2)];
        assert_eq!(
            a.rdwr(&mut msgs),
            Err(Failure {
                completed: 0,
                error: os("I2C_RDWR", "/dev/i2c-9", libc::ENOTTY)
            })
        );
        // Through the strategy too: ENOTTY is no zero-length refusal.
        let mut quick = vec![Msg::write(A50, Vec::new())];
        assert_eq!(
            crate::host::transfer(&mut a, &mut quick),
            Err(Failure {
                completed: 0,
                error: os("I2C_RDWR", "/dev/i2c-9", libc::ENOTTY)
            })
        );
    }

    #[test]
    fn rdwr_short_count_is_a_nack_of_the_first_message_not_run() {
        let t = TempDir::new("rdwr");
        let a = file_adapter(&t.file("f"), "a");
        let b = Address::Seven(0x51);
        let msgs = [Msg::write(A50, vec![0]), Msg::read(b, 2)];
        assert_eq!(a.check_count(&msgs, 2), Ok(()));
        assert_eq!(
            a.check_count(&msgs, 1),
            Err(Failure {
                completed: 1,
                error: HostError::Nack { addr: b }
            })
        );
        assert_eq!(
            a.check_count(&msgs, 0),
            Err(Failure {
                completed: 0,
                error: HostError::Nack { addr: A50 }
            })
        );
        // More than asked (never seen) is no failure.
        assert_eq!(a.check_count(&msgs, 3), Ok(()));
    }

    // ---- smbus ----

    #[test]
    fn smbus_error_is_from_setting_the_target() {
        let t = TempDir::new("smbus");
        let mut a = file_adapter(&t.file("f"), "a");
        let mut x = SmbusXfer::quick(false);
        assert_eq!(
            a.smbus(A50, &mut x),
            Err(os("I2C_SLAVE", "a", libc::ENOTTY))
        );
        assert_eq!(
            a.smbus(Address::Ten(0x50), &mut x),
            Err(os("I2C_TENBIT", "a", libc::ENOTTY))
        );
        // The failed I2C_TENBIT left the mode unknown: it is set again.
        assert_eq!(
            a.smbus(A50, &mut x),
            Err(os("I2C_TENBIT", "a", libc::ENOTTY))
        );
    }

    #[test]
    fn smbus_refuses_malformed_transactions_before_the_ioctl() {
        let t = TempDir::new("smbus");
        let mut a = file_adapter(&t.file("f"), "a");
        // Target cached, as after a successful I2C_SLAVE.
        a.target = Some(A50);
        let mut x = SmbusXfer {
            read: false,
            command: 1,
            size: SmbusSize::I2cBlockData,
            data: SmbusData::Block(vec![0; 33]),
        };
        assert_eq!(
            a.smbus(A50, &mut x),
            Err(os("I2C_SMBUS", "a", libc::EINVAL))
        );
        x.data = SmbusData::Block(vec![0; 32]);
        assert_eq!(
            a.smbus(A50, &mut x),
            Err(os("I2C_SMBUS", "a", libc::ENOTTY))
        );
    }

    fn xfer(read: bool, command: u8, size: SmbusSize, data: SmbusData) -> SmbusXfer {
        SmbusXfer {
            read,
            command,
            size,
            data,
        }
    }

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
            (xfer(false, 0xa5, Byte, D::None), (0, 0xa5, 1, None)),
            (xfer(true, 0, Byte, D::Byte(0)), (1, 0, 1, bytes(&[]))),
            (xfer(false, 7, ByteData, D::Byte(9)), (0, 7, 2, bytes(&[9]))),
            (xfer(true, 7, ByteData, D::Byte(0)), (1, 7, 2, bytes(&[]))),
            (
                xfer(false, 7, WordData, D::Word(0x1234)),
                (0, 7, 3, bytes(&w)),
            ),
            (xfer(true, 7, WordData, D::Word(0)), (1, 7, 3, bytes(&[]))),
            // Process call: a write that returns a word.
            (
                xfer(false, 7, ProcCall, D::Word(0x1234)),
                (0, 7, 4, bytes(&w)),
            ),
            (
                xfer(false, 7, BlockData, D::Block(vec![0xaa, 0xbb])),
                (0, 7, 5, bytes(&[2, 0xaa, 0xbb])),
            ),
            (
                xfer(true, 7, BlockData, D::Block(vec![])),
                (1, 7, 5, bytes(&[])),
            ),
            (
                xfer(false, 7, I2cBlockData, D::Block(vec![1, 2, 3])),
                (0, 7, 8, bytes(&[3, 1, 2, 3])),
            ),
            (
                xfer(true, 7, I2cBlockData, D::Block(vec![0; 16])),
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
            encoded(&xfer(false, 7, I2cBlockData, D::Block(full))),
            Some((0, 7, 8, Some(want)))
        );
    }

    #[test]
    fn encode_refuses_malformed_transactions() {
        use SmbusData as D;
        use SmbusSize::*;
        let bad = [
            xfer(false, 7, ByteData, D::None),
            xfer(false, 7, ByteData, D::Word(1)),
            xfer(false, 7, WordData, D::Byte(1)),
            xfer(false, 7, ProcCall, D::None),
            xfer(false, 7, BlockData, D::Block(vec![])),
            xfer(false, 7, BlockData, D::Block(vec![0; 33])),
            xfer(false, 7, I2cBlockData, D::Block(vec![])),
            xfer(false, 7, I2cBlockData, D::Byte(1)),
            xfer(true, 7, I2cBlockData, D::Block(vec![])),
            xfer(true, 7, I2cBlockData, D::Block(vec![0; 33])),
            xfer(true, 7, I2cBlockData, D::None),
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
            decoded(xfer(true, 0, Byte, D::Byte(0)), &[0x42]),
            D::Byte(0x42)
        );
        assert_eq!(
            decoded(xfer(true, 7, ByteData, D::Byte(0)), &[0x42]),
            D::Byte(0x42)
        );
        assert_eq!(
            decoded(xfer(true, 7, WordData, D::Word(0)), &w),
            D::Word(0xbeef)
        );
        assert_eq!(
            decoded(xfer(false, 7, ProcCall, D::Word(1)), &w),
            D::Word(0xbeef)
        );
        assert_eq!(
            decoded(
                xfer(true, 7, I2cBlockData, D::Block(vec![0; 3])),
                &[3, 7, 8, 9, 10]
            ),
            D::Block(vec![7, 8, 9])
        );
        // Fewer bytes than asked, as block[0] says; never more than asked.
        assert_eq!(
            decoded(
                xfer(true, 7, I2cBlockData, D::Block(vec![0; 3])),
                &[2, 7, 8, 9]
            ),
            D::Block(vec![7, 8])
        );
        assert_eq!(
            decoded(
                xfer(true, 7, I2cBlockData, D::Block(vec![0; 2])),
                &[200, 7, 8, 9]
            ),
            D::Block(vec![7, 8])
        );
        assert_eq!(
            decoded(xfer(true, 7, BlockData, D::Block(vec![])), &[2, 5, 6, 7]),
            D::Block(vec![5, 6])
        );
        // A count past 32 is clamped, not trusted.
        let mut full = vec![255];
        full.extend(1..=33);
        assert_eq!(
            decoded(xfer(true, 7, BlockData, D::Block(vec![])), &full),
            D::Block((1..=32).collect())
        );
        // Writes keep their data.
        assert_eq!(
            decoded(xfer(false, 7, ByteData, D::Byte(5)), &[9]),
            D::Byte(5)
        );
    }

    // ---- claim and locks ----

    #[test]
    fn claim_releases_the_lock_when_the_busy_check_fails() {
        let t = TempDir::new("claim");
        let path = t.file("node");
        let mut a = file_adapter(&path, "a");
        let b = file_adapter(&path, "b");
        for force in [false, true] {
            assert_eq!(a.claim(A50, force), Err(os("I2C_SLAVE", "a", libc::ENOTTY)));
            // Released: another open file description can take it.
            assert_eq!(b.lock(A50), Ok(()));
            assert_eq!(b.unlock(A50), Ok(()));
        }
        let ten = Address::Ten(0x50);
        assert_eq!(
            a.claim(ten, false),
            Err(os("I2C_TENBIT", "a", libc::ENOTTY))
        );
        assert_eq!(b.lock(ten), Ok(()));
        assert!(a.claims.is_empty());
    }

    #[test]
    fn claim_of_ten_bit_needs_the_functionality() {
        let t = TempDir::new("claim");
        let mut a = LinuxAdapter::from_file(open_rw(&t.file("node")), "a", Funcs(Funcs::I2C));
        assert_eq!(
            a.claim(Address::Ten(0x123), false),
            Err(HostError::TenBitUnsupported {
                adapter: "a".to_owned()
            })
        );
    }

    #[test]
    fn claim_is_held_while_the_adapter_lives() {
        let t = TempDir::new("claim");
        let path = t.file("node");
        let mut a = file_adapter(&path, "a");
        let b = file_adapter(&path, "b");
        // Pretend the busy check passed once, as on a real adapter.
        a.lock(A50).expect("lock");
        a.claims.insert(A50, false);
        // A repeated claim needs no ioctl (which would fail here).
        assert_eq!(a.claim(A50, true), Ok(()));
        assert_eq!(a.claims.get(&A50), Some(&true));
        assert_eq!(
            b.lock(A50),
            Err(HostError::Claimed {
                adapter: "b".to_owned(),
                addr: A50,
                pid: None
            })
        );
        drop(a);
        assert_eq!(b.lock(A50), Ok(()));
    }

    #[test]
    fn locks_conflict_between_adapters_per_address() {
        let t = TempDir::new("lock");
        let path = t.file("node");
        let a = file_adapter(&path, "a");
        let b = file_adapter(&path, "b");
        assert_eq!(a.lock(A50), Ok(()));
        // The holder may take its own lock again.
        assert_eq!(a.lock(A50), Ok(()));
        let err = b.lock(A50).expect_err("held by a");
        assert_eq!(
            err,
            HostError::Claimed {
                adapter: "b".to_owned(),
                addr: A50,
                pid: None
            }
        );
        assert_eq!(err.to_string(), "0x50 on b is claimed by another process");
        assert_eq!(err.errno(), libc::EAGAIN);
        // Other addresses, and the 10-bit address of the same value, are
        // other claims.
        assert_eq!(b.lock(Address::Seven(0x51)), Ok(()));
        assert_eq!(b.lock(Address::Ten(0x50)), Ok(()));
        assert_eq!(
            a.lock(Address::Ten(0x50)),
            Err(HostError::Claimed {
                adapter: "a".to_owned(),
                addr: Address::Ten(0x50),
                pid: None
            })
        );
        assert_eq!(a.unlock(A50), Ok(()));
        assert_eq!(b.lock(A50), Ok(()));
    }

    #[test]
    fn lock_ranges_are_one_byte_per_address() {
        let r = lock_range(A50, libc::F_WRLCK).expect("range");
        assert_eq!(
            (
                libc::c_int::from(r.l_type),
                libc::c_int::from(r.l_whence),
                r.l_start,
                r.l_len,
                r.l_pid
            ),
            (libc::F_WRLCK, libc::SEEK_SET, 0x50, 1, 0)
        );
        let r = lock_range(Address::Ten(0x3ff), libc::F_UNLCK).expect("range");
        assert_eq!(
            (libc::c_int::from(r.l_type), r.l_start),
            (libc::F_UNLCK, 0x7ff)
        );
    }

    // ---- across processes ----

    const HELPER_FILE: &str = "VI2C_TEST_LOCK_HELPER_FILE";
    const HELPER_MODE: &str = "VI2C_TEST_LOCK_HELPER_MODE";
    const HELPER_READY: &str = "vi2c-lock-helper: locked";

    /// Not a test by itself: the child process of the cross-process tests.
    /// Run with `VI2C_TEST_LOCK_HELPER_FILE`, it locks address 0x50 of that
    /// file (an OFD lock, or a classic POSIX lock with
    /// `VI2C_TEST_LOCK_HELPER_MODE=posix`), says so on stdout, and holds the
    /// lock until its stdin closes. Without the variable it does nothing.
    #[test]
    fn lock_holder_helper() {
        let Ok(path) = std::env::var(HELPER_FILE) else {
            return;
        };
        let file = open_rw(Path::new(&path));
        let posix = std::env::var(HELPER_MODE).is_ok_and(|m| m == "posix");
        let mut fl = lock_range(A50, libc::F_WRLCK).expect("range");
        let cmd = if posix {
            sys::LockCmd::PosixSet
        } else {
            sys::LockCmd::OfdSet
        };
        sys::fcntl_lock(&file, cmd, &mut fl).expect("helper lock");
        let mut out = io::stdout();
        writeln!(out, "\n{HELPER_READY}").expect("stdout");
        out.flush().expect("stdout");
        let _ = io::stdin().read_to_end(&mut Vec::new());
    }

    /// A lock-holding child; closing its stdin (on drop too) ends it.
    struct Holder {
        child: Child,
        /// Kept open to the end: the child's test harness still writes.
        stdout: BufReader<std::process::ChildStdout>,
    }

    impl Holder {
        fn spawn(path: &Path, mode: &str) -> Self {
            let exe = std::env::current_exe().expect("test binary");
            let mut child = Command::new(exe)
                .args([
                    "--exact",
                    "host::linux::tests::lock_holder_helper",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(HELPER_FILE, path)
                .env(HELPER_MODE, mode)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("spawn helper");
            let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
            let mut holder = Self { child, stdout };
            let mut line = String::new();
            loop {
                line.clear();
                match holder.stdout.read_line(&mut line) {
                    Ok(0) | Err(_) => panic!("the helper process ended without taking the lock"),
                    Ok(_) if line.contains(HELPER_READY) => break,
                    Ok(_) => {}
                }
            }
            holder
        }

        fn pid(&self) -> i32 {
            i32::try_from(self.child.id()).expect("pid fits")
        }

        /// Lets the child release its lock and exit, and checks it passed.
        fn finish(mut self) {
            drop(self.child.stdin.take());
            let _ = self.stdout.read_to_end(&mut Vec::new());
            let status = self.child.wait().expect("wait");
            assert!(status.success(), "helper: {status}");
        }
    }

    impl Drop for Holder {
        fn drop(&mut self) {
            drop(self.child.stdin.take());
            let _ = self.stdout.read_to_end(&mut Vec::new());
            let _ = self.child.wait();
        }
    }

    #[test]
    fn claim_conflicts_across_processes() {
        let t = TempDir::new("xproc");
        let path = t.file("node");
        let mut a = file_adapter(&path, "/dev/i2c-9");
        let holder = Holder::spawn(&path, "ofd");
        let claimed = HostError::Claimed {
            adapter: "/dev/i2c-9".to_owned(),
            addr: A50,
            pid: None,
        };
        assert_eq!(a.lock(A50), Err(claimed.clone()));
        // The full claim stops at the lock, before any ioctl.
        assert_eq!(a.claim(A50, false), Err(claimed));
        assert_eq!(a.lock(Address::Seven(0x51)), Ok(()));
        holder.finish();
        assert_eq!(a.lock(A50), Ok(()));
    }

    #[test]
    fn posix_lock_holders_are_named_by_pid() {
        let t = TempDir::new("xproc");
        let path = t.file("node");
        let a = file_adapter(&path, "a");
        let holder = Holder::spawn(&path, "posix");
        let err = a.lock(A50).expect_err("held");
        assert_eq!(
            err,
            HostError::Claimed {
                adapter: "a".to_owned(),
                addr: A50,
                pid: Some(holder.pid())
            }
        );
        assert_eq!(
            err.to_string(),
            format!(
                "0x50 on a is claimed by another process (pid {})",
                holder.pid()
            )
        );
        holder.finish();
        assert_eq!(a.lock(A50), Ok(()));
    }

    // ---- the rest ----

    #[test]
    fn name_is_what_the_user_gave() {
        let t = TempDir::new("name");
        let a = file_adapter(&t.file("f"), "SMBus I801 adapter at f000");
        assert_eq!(a.name(), "SMBus I801 adapter at f000");
        assert_eq!(a.funcs(), ALL);
    }

    fn blocked(sig: libc::c_int) -> bool {
        let mut cur = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: SIG_BLOCK with a NULL set changes nothing and writes the
        // current mask to `cur`, which is valid for writes.
        let rc =
            unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), cur.as_mut_ptr()) };
        assert_eq!(rc, 0);
        // SAFETY: pthread_sigmask succeeded, so it initialised `cur`; the
        // pointer is to a live sigset_t.
        unsafe { libc::sigismember(cur.as_ptr(), sig) == 1 }
    }

    #[test]
    fn block_all_signals_blocks_them_in_the_calling_thread() {
        let worker = std::thread::spawn(|| {
            let before = blocked(libc::SIGUSR1);
            block_all_signals().expect("sigmask");
            let after = [
                libc::SIGINT,
                libc::SIGTERM,
                libc::SIGUSR1,
                libc::SIGALRM,
                libc::SIGIO,
            ]
            .map(blocked);
            (before, after)
        });
        let (before, after) = worker.join().expect("worker");
        assert!(!before);
        assert_eq!(after, [true; 5]);
        // Another thread is untouched.
        assert!(!std::thread::spawn(|| blocked(libc::SIGUSR1))
            .join()
            .expect("thread"));
    }
}
