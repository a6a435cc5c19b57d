// SPDX-License-Identifier: GPL-2.0-or-later
//! Tests of [`LinuxAdapter`] on regular files (every ioctl fails there with
//! `ENOTTY`, locks work) and across processes; the same code on real
//! adapters is tested inside a guest (tests/hostguest).

use std::{
    path::PathBuf,
    sync::atomic::{AtomicU32, Ordering},
};

use super::{
    sys::{self, testing::LockHolder, LockCmd},
    *,
};
use crate::host::smbus::{SmbusData, SmbusSize};

const A50: Address = Address::seven(0x50).unwrap();
const ALL: Funcs = Funcs(Funcs::I2C | Funcs::TEN_BIT_ADDR | Funcs::SMBUS_ALL_TRANSLATED);

/// A directory under the system temp dir, removed on drop.
pub(in crate::host::linux) struct TempDir(pub(in crate::host::linux) PathBuf);

impl TempDir {
    pub(in crate::host::linux) fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("vi2c-linux-{}-{tag}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    pub(in crate::host::linux) fn file(&self, name: &str) -> PathBuf {
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
pub(in crate::host::linux) fn fake_tree() -> (TempDir, PathBuf, PathBuf) {
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
fn rdwr_error_keeps_errno() {
    let t = TempDir::new("rdwr");
    let mut a = file_adapter(&t.file("f"), "/dev/i2c-9");
    let mut msgs = Transfer::new(vec![
        Msg::write(A50, vec![0]).unwrap(),
        Msg::read(A50, 2).unwrap(),
    ])
    .unwrap();
    assert_eq!(
        a.rdwr(&mut msgs),
        Err(Failure {
            completed: 0,
            error: os("I2C_RDWR", "/dev/i2c-9", libc::ENOTTY)
        })
    );
    // Through the strategy too: ENOTTY is no zero-length refusal.
    let mut quick = Transfer::new(vec![Msg::write(A50, Vec::new()).unwrap()]).unwrap();
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
    let b = Address::seven(0x51).unwrap();
    let msgs = [Msg::write(A50, vec![0]).unwrap(), Msg::read(b, 2).unwrap()];
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
        a.smbus(Address::ten(0x50).unwrap(), &mut x),
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
    let ten = Address::ten(0x50).unwrap();
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
        a.claim(Address::ten(0x123).unwrap(), false),
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
    assert_eq!(b.lock(Address::seven(0x51).unwrap()), Ok(()));
    assert_eq!(b.lock(Address::ten(0x50).unwrap()), Ok(()));
    assert_eq!(
        a.lock(Address::ten(0x50).unwrap()),
        Err(HostError::Claimed {
            adapter: "a".to_owned(),
            addr: Address::ten(0x50).unwrap(),
            pid: None
        })
    );
    assert_eq!(a.unlock(A50), Ok(()));
    assert_eq!(b.lock(A50), Ok(()));
}

// ---- across processes ----

fn hold(path: &Path, cmd: LockCmd) -> LockHolder {
    let fl = sys::lock_range(0x50, libc::F_WRLCK).expect("range");
    LockHolder::spawn(&open_rw(path), cmd, fl)
}

#[test]
fn claim_conflicts_across_processes() {
    let t = TempDir::new("xproc");
    let path = t.file("node");
    let mut a = file_adapter(&path, "/dev/i2c-9");
    let holder = hold(&path, LockCmd::OfdSet);
    let claimed = HostError::Claimed {
        adapter: "/dev/i2c-9".to_owned(),
        addr: A50,
        pid: None,
    };
    assert_eq!(a.lock(A50), Err(claimed.clone()));
    // The full claim stops at the lock, before any ioctl.
    assert_eq!(a.claim(A50, false), Err(claimed));
    assert_eq!(a.lock(Address::seven(0x51).unwrap()), Ok(()));
    holder.finish();
    assert_eq!(a.lock(A50), Ok(()));
}

#[test]
fn posix_lock_holders_are_named_by_pid() {
    let t = TempDir::new("xproc");
    let path = t.file("node");
    let a = file_adapter(&path, "a");
    let holder = hold(&path, LockCmd::PosixSet);
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
