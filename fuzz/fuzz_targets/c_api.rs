// SPDX-License-Identifier: GPL-2.0-or-later
//! The C entry points of the device, driven as QEMU's glue drives them,
//! with what a hostile guest can put in a virtqueue element: arbitrary
//! request bytes, up to 1024 iovecs per part, buffers that alias each
//! other and claim up to 64 KiB each (the claims add up to tens of MiB),
//! pushes past the queue size, batch ends, completions in small batches,
//! and resets in between. Every accepted request is completed or returned
//! by a reset exactly once; a used length is 0 or the whole device-writable
//! part, and the whole part only when it fits a request (8193 bytes); a
//! request written whole ends with a status of 0 or 1. Sometimes every
//! group is also recorded into a size-bounded capture file.
#![no_main]

use std::{ffi::c_void, ptr};

use libfuzzer_sys::fuzz_target;
use virtio_i2c_rust::ffi::{adapter::*, capture::*, device::*, vi2c_status};

const QUEUE: u32 = 16;
const ARENA: usize = 64 * 1024;

/// One request: its iovecs, and what happened to it.
struct Req {
    out: Vec<libc::iovec>,
    inb: Vec<libc::iovec>,
    /// Its own status buffer, when its writable part is not aliased.
    private: Option<Vec<u8>>,
    writable: usize,
    done: u32,
    used: u32,
}

/// Completes everything ready, a few at a time, as QEMU's glue does.
///
/// # Safety
/// `dev` is live; its tokens are pointers to `Req`s that outlive it.
unsafe fn complete_all(dev: *const vi2c_device, cap: usize) {
    let mut c = [vi2c_completion::default(); 4];
    let cap = cap.clamp(1, c.len());
    loop {
        // SAFETY: live device; `c` has room for `cap` entries.
        let n = unsafe { vi2c_device_complete(dev, c.as_mut_ptr(), cap) };
        for done in &c[..n] {
            // SAFETY: tokens are pointers to live `Req`s.
            let r = unsafe { &mut *(done.token as usize as *mut Req) };
            r.done += 1;
            r.used = done.used_len;
            assert!(
                r.used == 0 || (r.used as usize == r.writable && r.writable <= 8193),
                "used length {} of a {}-byte part",
                r.used,
                r.writable
            );
            if let (Some(p), true) = (&r.private, r.used > 0) {
                assert!(p[p.len() - 1] <= 1, "status byte {}", p[p.len() - 1]);
            }
        }
        if n < cap {
            break;
        }
    }
}

unsafe extern "C" fn on_drop(_: *mut c_void, token: u64) {
    // SAFETY: tokens are pointers to live `Req`s.
    unsafe { (*(token as usize as *mut Req)).done += 1 };
}

/// Reads `n` bytes of the input, or what is left.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (a, b) = rest.split_at(n.min(rest.len()));
    *rest = b;
    a
}

fuzz_target!(|data: &[u8]| {
    let [policy, data @ ..] = data else {
        return;
    };
    let mut arena = vec![0u8; ARENA];
    let base = arena.as_mut_ptr();
    let mut adapter = ptr::null_mut();
    // SAFETY: valid NUL-terminated spec and out pointer.
    let st = unsafe {
        vi2c_adapter_new_sim(
            c"eeprom@0x50,regs@0x48".as_ptr(),
            &raw mut adapter,
            ptr::null_mut(),
            0,
        )
    };
    assert_eq!(st, vi2c_status::Ok);
    let mut capture = ptr::null_mut();
    if policy & 2 != 0 {
        // One file per fuzzing process, small enough to reach its bound.
        let path = std::env::temp_dir().join(format!("vi2c-fuzz-{}.pcapng", std::process::id()));
        let path = std::ffi::CString::new(path.into_os_string().into_encoded_bytes()).unwrap();
        // SAFETY: valid path and out pointer.
        let st = unsafe {
            vi2c_capture_open(path.as_ptr(), 64 * 1024, &raw mut capture, ptr::null_mut(), 0)
        };
        assert_eq!(st, vi2c_status::Ok);
    }
    let cfg = vi2c_device_config {
        address: if policy & 1 != 0 {
            c"0x48:ro,0x50".as_ptr()
        } else {
            c"0x48,0x50".as_ptr()
        },
        force: 0,
        require_zero_length: 0,
        queue_size: QUEUE,
        notify: None,
        log: None,
        opaque: ptr::null_mut(),
        capture,
        capture_bus: policy >> 1 & 0x7f,
    };
    let mut dev = ptr::null_mut();
    // SAFETY: valid config, adapter handle and out pointer.
    assert_eq!(
        unsafe { vi2c_device_new(&raw const cfg, adapter, &raw mut dev, ptr::null_mut(), 0) },
        vi2c_status::Ok
    );
    // SAFETY: the device keeps its own reference.
    unsafe { vi2c_capture_free(capture) };

    let mut reqs: Vec<Box<Req>> = Vec::new();
    let mut outstanding = 0u32;
    let mut rest = data;
    while let [op, a, b, c, tail @ ..] = rest {
        rest = tail;
        match op & 0x7 {
            0..=3 => {
                // The header and data: from the input, into the arena.
                let bytes = take(&mut rest, usize::from(*a % 24));
                let off = usize::from(*c) * 200;
                arena[off..off + bytes.len()].copy_from_slice(bytes);
                // Up to 1024 iovecs per part, aliasing the arena.
                let count = |x: u8| {
                    if op & 0x40 != 0 {
                        usize::from(x) * 4 + 1
                    } else {
                        usize::from(x % 3) + 1
                    }
                };
                let seg = |i: usize, len: usize, at: usize| libc::iovec {
                    // SAFETY: at + len <= ARENA (checked by the callers).
                    iov_base: unsafe { base.add(at) }.cast(),
                    iov_len: if i == 0 {
                        len
                    } else {
                        usize::from(*b) * 256 % (ARENA - at)
                    },
                };
                let outs = count(*a);
                let out: Vec<libc::iovec> = (0..outs).map(|i| seg(i, bytes.len(), off)).collect();
                let ins = count(*b);
                let mut private = None;
                let inb: Vec<libc::iovec> = if op & 0x20 != 0 {
                    let len = usize::from(*b % 40);
                    let mut p = vec![0xaau8; len];
                    let v = vec![libc::iovec {
                        iov_base: p.as_mut_ptr().cast(),
                        iov_len: len,
                    }];
                    private = Some(p);
                    v
                } else {
                    (0..ins).map(|i| seg(i + 1, 0, 40_000)).collect()
                };
                let writable = inb.iter().map(|v| v.iov_len).sum();
                let mut r = Box::new(Req {
                    out,
                    inb,
                    private: private.filter(|p| !p.is_empty()),
                    writable,
                    done: 0,
                    used: u32::MAX,
                });
                let token = ptr::from_mut::<Req>(&mut r) as usize as u64;
                // SAFETY: the iovecs describe the arena and the request's
                // own buffers, which live (boxed, in `reqs`) until the
                // device is freed.
                let st = unsafe {
                    vi2c_device_push(
                        dev,
                        token,
                        r.out.as_ptr(),
                        r.out.len(),
                        r.inb.as_ptr(),
                        r.inb.len(),
                        ptr::null_mut(),
                        0,
                    )
                };
                if outstanding == QUEUE {
                    assert_eq!(st, vi2c_status::QueueFull);
                    r.done = 1;
                } else {
                    assert_eq!(st, vi2c_status::Ok);
                }
                reqs.push(r);
            }
            4 => {
                // SAFETY: live device.
                unsafe { vi2c_device_flush(dev) };
            }
            5 => {
                // SAFETY: live device; callback matches the tokens.
                unsafe { vi2c_device_reset(dev, Some(on_drop), ptr::null_mut()) };
            }
            _ => {}
        }
        // SAFETY: live device; tokens point to the boxed requests.
        unsafe { complete_all(dev, usize::from(*c)) };
        outstanding = u32::try_from(reqs.iter().filter(|r| r.done == 0).count()).unwrap();
    }
    // SAFETY: live device.
    unsafe {
        vi2c_device_flush(dev);
        complete_all(dev, 4);
        vi2c_device_free(dev);
    }
    for r in &reqs {
        assert_eq!(r.done, 1, "request completed {} times", r.done);
    }
});
