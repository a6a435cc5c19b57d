// SPDX-License-Identifier: GPL-2.0-or-later
//! Every system call of the crate: the i2c-dev ioctls, the `fcntl` byte
//! range locks, and the thread signal mask.
//!
//! Each wrapper is a safe function: its arguments are checked or typed so
//! that the kernel only ever dereferences memory the caller lends for the
//! duration of the call (an enum of by-value ioctls, references, and
//! [`RawMsgs`], which borrows the buffers its pointers point into). Errors
//! are errno values, taken in one place ([`check`]).

use std::{fs::File, io, marker::PhantomData, os::fd::AsRawFd};

use super::uapi::{
    i2c_msg, i2c_rdwr_ioctl_data, i2c_smbus_data, i2c_smbus_ioctl_data, I2C_FUNCS, I2C_M_RD,
    I2C_M_TEN, I2C_RDWR, I2C_RETRIES, I2C_SLAVE, I2C_SLAVE_FORCE, I2C_SMBUS, I2C_TENBIT,
    I2C_TIMEOUT,
};
use crate::i2c::Msg;

/// The one `rc < 0 -> errno` rule of every call here.
fn check(rc: libc::c_int) -> Result<libc::c_int, i32> {
    if rc < 0 {
        Err(io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO))
    } else {
        Ok(rc)
    }
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

    /// The request's name, for `HostError::Os`.
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
    // - every `ValueIoctl` takes its argument by value (an `unsigned long`
    //   in i2c-dev), so no memory is accessed through it.
    check(unsafe { libc::ioctl(file.as_raw_fd(), libc::Ioctl::from(req.request()), arg) }).map(drop)
}

/// `I2C_FUNCS`: the adapter's functionality bits.
pub(super) fn funcs(file: &File) -> Result<u64, i32> {
    let mut funcs: libc::c_ulong = 0;
    // SAFETY:
    // - the fd is open for the life of `file`;
    // - I2C_FUNCS writes one `unsigned long` through its argument, which
    //   points to `funcs`, a live and exclusively borrowed `c_ulong`.
    check(unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            libc::Ioctl::from(I2C_FUNCS),
            &raw mut funcs,
        )
    })?;
    #[allow(
        clippy::useless_conversion,
        reason = "c_ulong is u64 here, but u32 on 32-bit targets"
    )]
    let funcs = u64::from(funcs);
    Ok(funcs)
}

/// The `i2c_msg` array of one `I2C_RDWR`, pointing into the buffers of the
/// messages it was built from, which it borrows exclusively for its whole
/// life.
///
/// Invariant: each entry's `buf` points to the start of one message's
/// buffer and `len` is that buffer's exact length, so the kernel may read
/// or write `len` bytes there.
pub(super) struct RawMsgs<'a> {
    pub(super) msgs: Vec<i2c_msg>,
    _bufs: PhantomData<&'a mut [Msg]>,
}

impl<'a> RawMsgs<'a> {
    /// The kernel's form of `msgs`. A [`Msg`] is at most 8192 bytes, so
    /// every length fits the kernel's `__u16`; the conversion is checked
    /// all the same (`EINVAL`).
    pub(super) fn new(msgs: &'a mut [Msg]) -> Result<Self, i32> {
        let raw = msgs
            .iter_mut()
            .map(|m| {
                let len = u16::try_from(m.len()).map_err(|_| libc::EINVAL)?;
                let mut flags = 0;
                if m.is_read() {
                    flags |= I2C_M_RD;
                }
                if m.addr().is_ten_bit() {
                    flags |= I2C_M_TEN;
                }
                Ok(i2c_msg {
                    addr: m.addr().value(),
                    flags,
                    len,
                    buf: m.data_mut().as_mut_ptr(),
                })
            })
            .collect::<Result<Vec<_>, i32>>()?;
        Ok(Self {
            msgs: raw,
            _bufs: PhantomData,
        })
    }
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
    //   buffer of exactly `len` bytes, borrowed exclusively by `msgs` for
    //   its whole life, so the kernel may read (writes) or fill (reads)
    //   them; nothing else touches them during the call.
    check(unsafe { libc::ioctl(file.as_raw_fd(), libc::Ioctl::from(I2C_RDWR), &raw mut data) })
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
    // - its `data` is NULL (the kernel then accesses no data, or fails with
    //   EINVAL where the size needs some) or points to a whole
    //   `i2c_smbus_data` in `args`, exclusively borrowed for the call; the
    //   kernel copies at most `sizeof(union i2c_smbus_data)` bytes in and
    //   out.
    check(unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            libc::Ioctl::from(I2C_SMBUS),
            &raw mut ioctl_data,
        )
    })
    .map(drop)
}

/// The lock commands of `fcntl`, all of which take a `struct flock *`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LockCmd {
    /// `F_OFD_SETLK`: take or release a lock of this open file description.
    OfdSet,
    /// `F_OFD_GETLK`: find a conflicting lock.
    OfdGet,
    /// `F_SETLK`: classic POSIX locks, owned by the process; only to test
    /// that their holder's pid is reported.
    #[cfg(test)]
    PosixSet,
}

/// A one-byte range at `offset`, of type `l_type` (`F_WRLCK` or
/// `F_UNLCK`), for [`fcntl_lock`].
pub(super) fn lock_range(offset: u16, l_type: libc::c_int) -> Result<libc::flock, i32> {
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

/// `fcntl(fd, cmd, fl)`: sets the lock `fl` describes, or (`OfdGet`)
/// replaces `fl` with a lock that would conflict with it, or sets `l_type`
/// to `F_UNLCK` when none would.
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
    check(unsafe { libc::fcntl(file.as_raw_fd(), cmd, std::ptr::from_mut(fl)) }).map(drop)
}

/// The calling thread's signal mask as it was before
/// [`SignalsBlocked::new`]; dropping it restores that mask.
#[derive(Debug)]
#[must_use = "the mask is restored when this is dropped"]
pub struct SignalsBlocked {
    old: libc::sigset_t,
}

impl SignalsBlocked {
    /// Blocks every signal in the calling thread (`pthread_sigmask`), as
    /// QEMU's `qemu_thread_create` does around `pthread_create`: a thread
    /// created meanwhile inherits the full mask from its first
    /// instruction, so it never runs a signal handler meant for the
    /// process's own threads. glibc keeps its internal signals
    /// unblockable.
    ///
    /// # Errors
    /// The errno of `sigfillset` or `pthread_sigmask`.
    pub fn new() -> io::Result<Self> {
        let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: `set` is valid for writes of a `sigset_t`; sigfillset
        // initialises all of it and reads nothing.
        check(unsafe { libc::sigfillset(set.as_mut_ptr()) })
            .map_err(io::Error::from_raw_os_error)?;
        // SAFETY: sigfillset succeeded, so it initialised `set`.
        let set = unsafe { set.assume_init() };
        let mut old = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY:
        // - `set` is an initialised `sigset_t` that outlives the call, which
        //   only reads it;
        // - `old` is valid for writes of a `sigset_t`.
        let rc =
            unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, old.as_mut_ptr()) };
        // pthread_sigmask returns the error number instead of setting errno.
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        // SAFETY: pthread_sigmask succeeded, so it wrote the old mask.
        let old = unsafe { old.assume_init() };
        Ok(Self { old })
    }
}

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        // SAFETY: `old` is the initialised mask saved by `new`; the call
        // only reads it, and the old-set pointer may be NULL.
        // Restoring a mask that was in force cannot fail (EINVAL is for a
        // bad `how`).
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &raw const self.old, std::ptr::null_mut())
        };
    }
}

/// Test-only calls: the signal mask of the calling thread, and a child
/// process that holds a lock.
#[cfg(test)]
pub(super) mod testing {
    use std::{fs::File, os::fd::AsRawFd};

    use super::{check, fcntl_lock, LockCmd};

    /// Whether `sig` is blocked in the calling thread.
    pub(in crate::host::linux) fn blocked(sig: libc::c_int) -> bool {
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

    /// A child process (made by `fork`) holding the lock `fl` on `file`
    /// through `cmd` until [`LockHolder::finish`] or drop.
    pub(in crate::host::linux) struct LockHolder {
        pid: libc::pid_t,
        /// Our end of the pipe the child waits on; closing it ends the
        /// child.
        release: Option<File>,
    }

    impl LockHolder {
        /// Forks a child that takes the lock, reports it, and waits.
        pub(in crate::host::linux) fn spawn(file: &File, cmd: LockCmd, fl: libc::flock) -> Self {
            use std::{io::Read, os::fd::FromRawFd};
            let pipe = || {
                let mut fds = [0; 2];
                // SAFETY: `fds` is valid for writes of two fds.
                check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }).expect("pipe2");
                // SAFETY: pipe2 returned two fresh fds owned by nobody else.
                unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
            };
            let (mut ready_rx, ready_tx) = pipe();
            let (release_rx, release_tx) = pipe();
            // SAFETY: the child only makes async-signal-safe calls (fcntl,
            // write, read, _exit) on fds it inherited, then exits without
            // unwinding or running destructors.
            let pid = check(unsafe { libc::fork() }).expect("fork");
            if pid == 0 {
                // SAFETY: async-signal-safe; the child's copies of the
                // parent's ends must go, or the release pipe never sees
                // EOF.
                unsafe {
                    libc::close(release_tx.as_raw_fd());
                    libc::close(ready_rx.as_raw_fd());
                }
                let mut fl = fl;
                let ok = fcntl_lock(file, cmd, &mut fl).is_ok();
                let byte = [u8::from(ok)];
                let mut sink = [0u8; 1];
                // SAFETY: async-signal-safe calls on valid fds and buffers;
                // the child then ends with _exit.
                unsafe {
                    libc::write(ready_tx.as_raw_fd(), byte.as_ptr().cast(), 1);
                    while libc::read(release_rx.as_raw_fd(), sink.as_mut_ptr().cast(), 1) > 0 {}
                    libc::_exit(if ok { 0 } else { 1 });
                }
            }
            drop(ready_tx);
            drop(release_rx);
            let mut b = [0u8; 1];
            ready_rx.read_exact(&mut b).expect("the child reports");
            assert_eq!(b, [1], "the child could not take the lock");
            Self {
                pid,
                release: Some(release_tx),
            }
        }

        /// The child's pid.
        pub(in crate::host::linux) fn pid(&self) -> i32 {
            self.pid
        }

        /// Lets the child release its lock and exit; checks its status.
        pub(in crate::host::linux) fn finish(mut self) {
            assert_eq!(self.wait(), 0, "lock holder exit status");
        }

        fn wait(&mut self) -> libc::c_int {
            drop(self.release.take());
            let mut status = 0;
            // SAFETY: `pid` is our child; `status` is valid for writes.
            check(unsafe { libc::waitpid(self.pid, &raw mut status, 0) }).expect("waitpid");
            status
        }
    }

    impl Drop for LockHolder {
        fn drop(&mut self) {
            if self.release.is_some() {
                self.wait();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{testing::blocked, *};
    use crate::i2c::Address;

    #[test]
    fn raw_msgs_point_into_each_buffer() {
        let a50 = Address::seven(0x50).unwrap();
        let mut msgs = vec![
            Msg::write(a50, vec![1, 2, 3]).unwrap(),
            Msg::read(Address::ten(0x123).unwrap(), 4).unwrap(),
            Msg::write(Address::seven(0x7f).unwrap(), Vec::new()).unwrap(),
        ];
        let ptrs: Vec<*mut u8> = msgs.iter_mut().map(|m| m.data_mut().as_mut_ptr()).collect();
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
    fn lock_ranges_are_one_byte() {
        let r = lock_range(0x50, libc::F_WRLCK).expect("range");
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
        let r = lock_range(0x7ff, libc::F_UNLCK).expect("range");
        assert_eq!(
            (libc::c_int::from(r.l_type), r.l_start),
            (libc::F_UNLCK, 0x7ff)
        );
    }

    #[test]
    fn signals_are_blocked_until_the_guard_drops() {
        let worker = std::thread::spawn(|| {
            let before = blocked(libc::SIGUSR1);
            let guard = SignalsBlocked::new().expect("sigmask");
            let during = [
                libc::SIGINT,
                libc::SIGTERM,
                libc::SIGUSR1,
                libc::SIGALRM,
                libc::SIGIO,
            ]
            .map(blocked);
            // A thread created meanwhile inherits the full mask.
            let child = std::thread::spawn(|| blocked(libc::SIGTERM))
                .join()
                .expect("child");
            drop(guard);
            (before, during, child, blocked(libc::SIGUSR1))
        });
        let (before, during, child, after) = worker.join().expect("worker");
        assert!(!before);
        assert_eq!(during, [true; 5]);
        assert!(child);
        assert!(!after, "the old mask is back");
        // Another thread is untouched.
        assert!(!std::thread::spawn(|| blocked(libc::SIGUSR1))
            .join()
            .expect("thread"));
    }
}
