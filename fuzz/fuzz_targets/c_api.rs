// SPDX-License-Identifier: GPL-2.0-or-later
//! The C entry points of the device, driven as QEMU's glue drives them:
//! arbitrary request bytes in arbitrary iovec layouts, pushes, flushes,
//! completions and resets. Every accepted request is completed or
//! returned by reset exactly once; status bytes are 0 or 1; the used
//! length never exceeds the device-writable length.
#![no_main]

use std::{ffi::c_void, ptr};

use libfuzzer_sys::fuzz_target;
use virtio_i2c_rust::ffi::{adapter::*, device::*, vi2c_status};

struct Req {
    out: Vec<u8>,
    inb: Vec<u8>,
    done: u32,
    used: u32,
}

/// Completes everything ready, a few at a time, as QEMU's glue does.
///
/// # Safety
/// `dev` is live; its tokens are pointers to `Req`s that outlive it.
unsafe fn complete_all(dev: *const vi2c_device) {
    let mut c = [vi2c_completion::default(); 3];
    loop {
        // SAFETY: live device; `c` has room for 3 entries.
        let n = unsafe { vi2c_device_complete(dev, c.as_mut_ptr(), c.len()) };
        for done in &c[..n] {
            // SAFETY: tokens are pointers to live `Req`s.
            let r = unsafe { &mut *(done.token as usize as *mut Req) };
            r.done += 1;
            r.used = done.used_len;
        }
        if n < c.len() {
            break;
        }
    }
}

unsafe extern "C" fn on_drop(_: *mut c_void, token: u64) {
    // SAFETY: as above.
    unsafe { (*(token as usize as *mut Req)).done += 1 };
}

fuzz_target!(|data: &[u8]| {
    let mut adapter = ptr::null_mut();
    // SAFETY: valid NUL-terminated spec and out pointer.
    let st = unsafe {
        vi2c_adapter_new_sim(
            c"eeprom@0x50,regs@0x48".as_ptr(),
            &mut adapter,
            ptr::null_mut(),
            0,
        )
    };
    assert_eq!(st, vi2c_status::Ok);
    let cfg = vi2c_device_config {
        address: c"0x48,0x50".as_ptr(),
        force: 0,
        zero_length_optional: 0,
        queue_size: 1024,
        notify: None,
        log: None,
        opaque: ptr::null_mut(),
    };
    let mut dev = ptr::null_mut();
    // SAFETY: valid config, adapter handle and out pointer.
    assert_eq!(
        unsafe { vi2c_device_new(&cfg, adapter, &mut dev, ptr::null_mut(), 0) },
        vi2c_status::Ok
    );

    let mut reqs: Vec<Box<Req>> = Vec::new();
    let mut rest = data;
    while let [op, olen, ilen, split, tail @ ..] = rest {
        rest = tail;
        match op & 0x3 {
            0 | 1 => {
                let n = usize::from(*olen % 24).min(rest.len());
                let (out, tail) = rest.split_at(n);
                rest = tail;
                let mut r = Box::new(Req {
                    out: out.to_vec(),
                    inb: vec![0xaa; usize::from(*ilen % 12)],
                    done: 0,
                    used: u32::MAX,
                });
                let s = usize::from(*split).min(r.out.len());
                let i = usize::from(*split >> 4).min(r.inb.len());
                let base = r.out.as_mut_ptr();
                let ibase = r.inb.as_mut_ptr();
                let out_iov = [
                    libc::iovec {
                        iov_base: base.cast(),
                        iov_len: s,
                    },
                    // SAFETY: s <= out.len().
                    libc::iovec {
                        iov_base: unsafe { base.add(s) }.cast(),
                        iov_len: r.out.len() - s,
                    },
                ];
                let in_iov = [
                    libc::iovec {
                        iov_base: ibase.cast(),
                        iov_len: i,
                    },
                    // SAFETY: i <= inb.len().
                    libc::iovec {
                        iov_base: unsafe { ibase.add(i) }.cast(),
                        iov_len: r.inb.len() - i,
                    },
                ];
                let token = ptr::from_mut::<Req>(&mut r) as usize as u64;
                // SAFETY: iovecs describe live buffers owned by `r`, which
                // stays alive (boxed, in `reqs`) until the device is freed.
                let st = unsafe {
                    vi2c_device_push(
                        dev,
                        token,
                        out_iov.as_ptr(),
                        2,
                        in_iov.as_ptr(),
                        2,
                        ptr::null_mut(),
                        0,
                    )
                };
                assert_eq!(st, vi2c_status::Ok);
                reqs.push(r);
            }
            2 => {
                // SAFETY: live device.
                unsafe { vi2c_device_flush(dev) };
            }
            _ => {
                if op & 0x80 != 0 {
                    // SAFETY: live device; callback matches the tokens.
                    unsafe { vi2c_device_reset(dev, Some(on_drop), ptr::null_mut()) };
                }
            }
        }
        // SAFETY: live device; tokens point to the boxed requests.
        unsafe { complete_all(dev) };
    }
    // SAFETY: live device.
    unsafe {
        vi2c_device_flush(dev);
        complete_all(dev);
        vi2c_device_free(dev);
    }
    for r in &reqs {
        assert_eq!(r.done, 1, "request completed {} times", r.done);
        if r.used != u32::MAX && r.used != 0 {
            assert!(r.used as usize <= r.inb.len());
            let status = r.inb[r.inb.len() - 1];
            assert!(status <= 1);
        }
    }
});
