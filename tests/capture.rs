// SPDX-License-Identifier: GPL-2.0-or-later
//! Captures made through the C API, read back by the real tshark: it lists
//! exactly the messages that ran or were refused, with their bus,
//! address, direction, bytes and outcome; a capture is readable after
//! every transfer, also when cut short; the size bound holds.
//!
//! tshark is required (Debian package `tshark`, installed by
//! `scripts/setup-host.sh`): these tests fail without it.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::{
    ffi::{c_char, c_void, CStr, CString},
    path::{Path, PathBuf},
    process::Command,
    ptr,
    sync::Mutex,
};

use virtio_i2c_rust::ffi::{adapter::*, capture::*, device::*, host_i2cdev::*, vi2c_status};

const M_RD: u32 = 2;
const FAIL_NEXT: u32 = 1;

/// A directory of its own for each test.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vi2c-capture-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// tshark's fields of every record of `file`, one line each:
/// bus|address|flags|bytes (address byte included)|comment. Panics when
/// tshark is missing or fails.
fn tshark(file: &Path) -> Vec<String> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(["-T", "fields", "-E", "separator=|"])
        .args(["-e", "i2c.bus", "-e", "i2c.addr", "-e", "i2c.flags"])
        .args(["-e", "i2c.event", "-e", "data.data", "-e", "frame.comment"])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run tshark ({e}): install it with scripts/setup-host.sh (Debian package tshark)")
        });
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn open_capture(path: &Path, max: u64) -> *mut vi2c_capture {
    let p = CString::new(path.to_str().unwrap()).unwrap();
    let mut c = ptr::null_mut();
    let mut err = [0 as c_char; 256];
    // SAFETY: valid strings, out pointer and error buffer.
    let st = unsafe { vi2c_capture_open(p.as_ptr(), max, &raw mut c, err.as_mut_ptr(), 256) };
    // SAFETY: NUL-terminated by the library on failure.
    let msg = unsafe { CStr::from_ptr(err.as_ptr()) };
    assert_eq!(st, vi2c_status::Ok, "{msg:?}");
    c
}

fn sim(spec: &CStr) -> *mut vi2c_adapter {
    let mut a = ptr::null_mut();
    // SAFETY: valid spec and out pointer.
    let st = unsafe { vi2c_adapter_new_sim(spec.as_ptr(), &raw mut a, ptr::null_mut(), 0) };
    assert_eq!(st, vi2c_status::Ok);
    a
}

/// Messages logged, by every device of the test binary.
static LOGGED: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe extern "C" fn log(_: *mut c_void, _: u32, msg: *const c_char) {
    // SAFETY: the library passes a NUL-terminated message.
    let m = unsafe { CStr::from_ptr(msg) }
        .to_string_lossy()
        .into_owned();
    LOGGED.lock().unwrap().push(m);
}

fn device(capture: *const vi2c_capture, bus: u8, address: &CStr) -> *mut vi2c_device {
    let cfg = vi2c_device_config {
        address: address.as_ptr(),
        force: 0,
        require_zero_length: 0,
        queue_size: 64,
        notify: None,
        log: Some(log),
        opaque: ptr::null_mut(),
        capture,
        capture_bus: bus,
    };
    let mut d = ptr::null_mut();
    let mut err = [0 as c_char; 256];
    let a = sim(c"eeprom@0x50,regs@0x48");
    // SAFETY: valid config, adapter, out pointer and error buffer.
    let st = unsafe { vi2c_device_new(&raw const cfg, a, &raw mut d, err.as_mut_ptr(), 256) };
    // SAFETY: NUL-terminated by the library on failure.
    assert_eq!(st, vi2c_status::Ok, "{:?}", unsafe {
        CStr::from_ptr(err.as_ptr())
    });
    d
}

/// One message of a group: (7-bit address, read length or write data).
enum M<'a> {
    W(u8, &'a [u8]),
    R(u8, usize),
}

/// Runs one group through the device as QEMU's glue would, returns the
/// status bytes and read data of its requests.
fn group(d: *const vi2c_device, msgs: &[M<'_>]) -> Vec<(u8, Vec<u8>)> {
    let mut bufs: Vec<(Vec<u8>, Vec<u8>)> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let last = i + 1 == msgs.len();
            let flags = if last { 0 } else { FAIL_NEXT };
            let (addr, flags, data, inlen) = match m {
                M::W(a, data) => (a, flags, data.to_vec(), 1),
                M::R(a, n) => (a, flags | M_RD, Vec::new(), n + 1),
            };
            let mut out = vec![addr << 1, 0, 0, 0];
            out.extend_from_slice(&flags.to_le_bytes());
            out.extend_from_slice(&data);
            (out, vec![0xee; inlen])
        })
        .collect();
    for (i, (out, inb)) in bufs.iter_mut().enumerate() {
        let o = [libc::iovec {
            iov_base: out.as_mut_ptr().cast(),
            iov_len: out.len(),
        }];
        let n = [libc::iovec {
            iov_base: inb.as_mut_ptr().cast(),
            iov_len: inb.len(),
        }];
        // SAFETY: the buffers outlive the request, which completes below.
        let st = unsafe {
            vi2c_device_push(
                d,
                i as u64,
                o.as_ptr(),
                1,
                n.as_ptr(),
                1,
                ptr::null_mut(),
                0,
            )
        };
        assert_eq!(st, vi2c_status::Ok);
    }
    let mut c = [vi2c_completion::default(); 64];
    // SAFETY: live device, room for 64 completions.
    let n = unsafe { vi2c_device_complete(d, c.as_mut_ptr(), c.len()) };
    assert_eq!(n, msgs.len());
    bufs.into_iter()
        .map(|(_, mut inb)| {
            let status = inb.pop().unwrap();
            (status, inb)
        })
        .collect()
}

/// What tshark lists for a message: bus|addr|flags||bytes|comment.
fn line(bus: u8, addr: u8, flags: u32, bytes: &str, comment: &str) -> String {
    format!("{bus}|0x{addr:02x}|0x{flags:08x}||{bytes}|{comment}")
}

#[test]
fn tshark_lists_every_message_with_its_outcome() {
    let d = dir("list");
    let path = d.join("i2c.pcapng");
    let cap = open_capture(&path, 0);
    let dev = device(cap, 1, c"0x50,0x51,0x60=0x48:ro");
    // A second device on another bus, sharing the file by its path.
    let cap2 = open_capture(&d.join(".").join("i2c.pcapng"), 0);
    let mut t = ptr::null_mut();
    let tcfg = vi2c_host_i2cdev_config {
        host_address: 0x48,
        ten_bit: 0,
        force: 0,
        read_only: 0,
        prefetch: 2,
        log: None,
        opaque: ptr::null_mut(),
        capture: cap2,
        capture_bus: 2,
    };
    // SAFETY: valid config, adapter and out pointer.
    let st = unsafe {
        vi2c_host_i2cdev_new(
            &raw const tcfg,
            sim(c"regs@0x48"),
            &raw mut t,
            ptr::null_mut(),
            0,
        )
    };
    assert_eq!(st, vi2c_status::Ok);
    // The devices keep their own references.
    // SAFETY: handles from vi2c_capture_open, freed once.
    unsafe {
        vi2c_capture_free(cap);
        vi2c_capture_free(cap2);
    }

    let ok = |r: &[(u8, Vec<u8>)]| r.iter().all(|(s, _)| *s == 0);
    assert!(ok(&group(dev, &[M::W(0x50, &[0x00, 0x11, 0x22])])));
    let r = group(dev, &[M::W(0x50, &[0x00]), M::R(0x50, 2)]);
    assert_eq!(r[1], (0, vec![0x11, 0x22]));
    // Nobody at 0x51: NACK, and the message after it never runs.
    let r = group(dev, &[M::R(0x51, 1), M::W(0x50, &[0x05])]);
    assert_eq!((r[0].0, r[1].0), (1, 1));
    // Refused before the bus: an address not allowed, a write to a
    // read-only client.
    assert_eq!(group(dev, &[M::W(0x30, &[1])])[0].0, 1);
    assert_eq!(group(dev, &[M::W(0x60, &[0x05, 0xaa])])[0].0, 1);
    // A remapped address: the guest's 0x60 is the host's 0x48, whose
    // register pointer may be written before a read.
    let r = group(dev, &[M::W(0x60, &[0x05]), M::R(0x60, 1)]);
    assert_eq!(r[1], (0, vec![0xfa]));
    // host-i2cdev: a register read (write the pointer, repeated START,
    // read with a prefetch of 2), then STOP.
    // SAFETY: live handle.
    unsafe {
        assert_eq!(vi2c_host_i2cdev_event(t, vi2c_event::StartSend as u32), 0);
        assert_eq!(vi2c_host_i2cdev_send(t, 0x05), 0);
        assert_eq!(vi2c_host_i2cdev_event(t, vi2c_event::StartRecv as u32), 0);
        assert_eq!(vi2c_host_i2cdev_recv(t), 0xfa);
        assert_eq!(vi2c_host_i2cdev_event(t, vi2c_event::Finish as u32), 0);
        vi2c_device_free(dev);
        vi2c_host_i2cdev_free(t);
    }

    let not_allowed = "refused: request 0 targets 0x30, which is not allowed";
    let read_only = "refused: request 0 writes to 0x60, which is read-only \
                     (only a pointer of at most 1 byte(s) before a read is allowed) \
                     (host address 0x48)";
    assert_eq!(
        tshark(&path),
        [
            line(1, 0x50, 0, "a0001122", "ACK"),
            line(1, 0x50, 0, "a000", "ACK"),
            line(1, 0x50, 1, "a11122", "ACK"),
            line(1, 0x51, 0x0100_0001, "a3", "NACK"),
            line(
                1,
                0x50,
                0x0800_0000,
                "a005",
                "not run: an earlier message of the transfer failed"
            ),
            line(1, 0x30, 0x0400_0000, "6001", not_allowed),
            line(1, 0x60, 0x0400_0000, "c005aa", read_only),
            line(1, 0x60, 0, "c005", "ACK (host address 0x48)"),
            line(1, 0x60, 1, "c1fa", "ACK (host address 0x48)"),
            line(2, 0x48, 0, "9005", "ACK"),
            line(2, 0x48, 1, "91faf9", "ACK"),
        ]
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn the_file_is_readable_after_every_transfer_and_when_cut_short() {
    let d = dir("cut");
    let path = d.join("i2c.pcapng");
    let cap = open_capture(&path, 0);
    let dev = device(cap, 0, c"0x50,0x51");
    // SAFETY: handle from vi2c_capture_open; the device keeps its own.
    unsafe { vi2c_capture_free(cap) };
    let mut snapshots = vec![std::fs::read(&path).unwrap()];
    let groups: [&[M<'_>]; 4] = [
        &[M::W(0x50, &[0x10, 1, 2, 3])],
        &[M::W(0x50, &[0x10]), M::R(0x50, 3)],
        &[M::R(0x51, 4)],
        &[M::R(0x50, 200)],
    ];
    for g in groups {
        group(dev, g);
        // Nothing is closed or flushed by the test: what is on disk now
        // is what a killed QEMU would leave.
        snapshots.push(std::fs::read(&path).unwrap());
    }
    let counts = [0, 1, 3, 4, 5];
    for (i, (snap, n)) in snapshots.iter().zip(counts).enumerate() {
        let f = d.join(format!("after-{i}.pcapng"));
        std::fs::write(&f, snap).unwrap();
        assert_eq!(tshark(&f).len(), n, "after group {i}");
    }
    // Cut inside the last record: tshark reads every record before it
    // (and says the file was cut short).
    let all = snapshots.last().unwrap();
    let before = snapshots[snapshots.len() - 2].len();
    for cut in [before + 1, before + 20, all.len() - 1] {
        let f = d.join("cut.pcapng");
        std::fs::write(&f, &all[..cut]).unwrap();
        let out = Command::new("tshark").arg("-r").arg(&f).output().unwrap();
        let listed = String::from_utf8_lossy(&out.stdout).lines().count();
        assert_eq!(listed, 4, "cut at {cut}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("cut short"), "{err}");
    }
    // SAFETY: live handle, freed once.
    unsafe { vi2c_device_free(dev) };
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn the_size_bound_holds_and_the_stop_is_recorded_and_logged_once() {
    let d = dir("bound");
    let path = d.join("i2c.pcapng");
    let max = 2000;
    let cap = open_capture(&path, max);
    let dev = device(cap, 5, c"0x50");
    // SAFETY: handle from vi2c_capture_open; the device keeps its own.
    unsafe { vi2c_capture_free(cap) };
    for _ in 0..40 {
        group(dev, &[M::W(0x50, &[0x00]), M::R(0x50, 16)]);
    }
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len <= max, "{len} > {max}");
    assert!(len > max - 200, "the capture filled its bound: {len}");
    let lines = tshark(&path);
    let last = lines.last().unwrap();
    assert_eq!(
        last,
        "5|||0x00000100||capture stopped (size limit reached or write error): later transfers are not recorded"
    );
    assert!(lines[..lines.len() - 1].iter().all(|l| l.ends_with("|ACK")));
    let logged: Vec<String> = LOGGED
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.contains(path.to_str().unwrap()))
        .cloned()
        .collect();
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(
        logged[0].contains("would pass max_bytes=2000"),
        "{logged:?}"
    );
    // SAFETY: live handle, freed once.
    unsafe { vi2c_device_free(dev) };
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn open_errors_name_the_path_and_the_bound() {
    let mut c = ptr::null_mut();
    let mut err = [0 as c_char; 256];
    let msg = |err: &[c_char; 256]| {
        // SAFETY: NUL-terminated by the library.
        unsafe { CStr::from_ptr(err.as_ptr()) }
            .to_str()
            .unwrap()
            .to_owned()
    };
    // SAFETY: valid strings, out pointer and error buffer.
    let st = unsafe {
        vi2c_capture_open(
            c"/nonexistent/dir/x.pcapng".as_ptr(),
            0,
            &raw mut c,
            err.as_mut_ptr(),
            256,
        )
    };
    assert_eq!(st, vi2c_status::OsError);
    assert!(
        msg(&err).starts_with("cannot create the capture file /nonexistent/dir/x.pcapng: "),
        "{}",
        msg(&err)
    );
    let d = dir("errors");
    let p = CString::new(d.join("x").to_str().unwrap()).unwrap();
    // SAFETY: as above.
    let st = unsafe { vi2c_capture_open(p.as_ptr(), 10, &raw mut c, err.as_mut_ptr(), 256) };
    assert_eq!(st, vi2c_status::InvalidArgument);
    assert!(
        msg(&err).starts_with("capture max_bytes=10 is too small"),
        "{}",
        msg(&err)
    );
    // SAFETY: NULL arguments are reported.
    let st = unsafe { vi2c_capture_open(ptr::null(), 0, &raw mut c, err.as_mut_ptr(), 256) };
    assert_eq!(
        (st, msg(&err).as_str()),
        (vi2c_status::NullArgument, "argument 'path' is NULL")
    );
    // SAFETY: as above.
    let st = unsafe { vi2c_capture_open(c"".as_ptr(), 0, &raw mut c, err.as_mut_ptr(), 256) };
    assert_eq!(st, vi2c_status::InvalidArgument);
    assert!(c.is_null(), "untouched on failure");
    // A bus number of more than 7 bits is refused by the device.
    let cap = open_capture(&d.join("y"), 0);
    let cfg = vi2c_device_config {
        address: ptr::null(),
        force: 0,
        require_zero_length: 0,
        queue_size: 8,
        notify: None,
        log: None,
        opaque: ptr::null_mut(),
        capture: cap,
        capture_bus: 128,
    };
    let mut dev = ptr::null_mut();
    // SAFETY: valid config, adapter, out pointer and error buffer.
    let st = unsafe {
        vi2c_device_new(
            &raw const cfg,
            sim(c"eeprom@0x50"),
            &raw mut dev,
            err.as_mut_ptr(),
            256,
        )
    };
    assert_eq!(
        (st, msg(&err).as_str()),
        (
            vi2c_status::InvalidArgument,
            "capture_bus=128 must be 0-127"
        )
    );
    // SAFETY: live handle, freed once; NULL is a no-op.
    unsafe {
        vi2c_capture_free(cap);
        vi2c_capture_free(ptr::null_mut());
    }
    std::fs::remove_dir_all(&d).unwrap();
}
