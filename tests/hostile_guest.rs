// SPDX-License-Identifier: GPL-2.0-or-later
//! What a hostile guest can make one request cost, through the C ABI as
//! QEMU's glue drives it: the work of completing any request is bounded by
//! what the device transfers (at most 8 KiB and a status byte), whatever
//! size its buffers claim.
//!
//! The buffers here claim terabytes: 1024 iovecs (the most a virtqueue
//! element has) of 4 GiB each, all aliasing one 4 GiB anonymous mapping
//! that is never touched before the request. `mincore` then counts the
//! pages the device touched: the bound is on bytes touched, not on time.
#![cfg(target_os = "linux")]

use std::{ptr, time::Instant};

use virtio_i2c_rust::ffi::{adapter::*, device::*, vi2c_status};

const GIB4: usize = 1 << 32;
const IOVECS: usize = 1024;

/// A 4 GiB private anonymous mapping, reserved but not backed.
struct Mapping(*mut u8);

impl Mapping {
    fn new() -> Self {
        // SAFETY: an anonymous private mapping with no address hint; the
        // result is checked below.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                GIB4,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED, "mmap of 4 GiB");
        Self(p.cast())
    }

    /// Pages of the mapping that are resident, i.e. were touched.
    fn resident_pages(&self) -> usize {
        let page = 4096;
        let mut vec = vec![0u8; GIB4 / page];
        // SAFETY: the mapping is GIB4 bytes long and page aligned; `vec`
        // has one byte per page.
        let rc = unsafe { libc::mincore(self.0.cast(), GIB4, vec.as_mut_ptr()) };
        assert_eq!(rc, 0, "mincore");
        vec.iter().filter(|b| **b & 1 != 0).count()
    }

    /// The iovecs of a part claiming 4 TiB.
    fn iovecs(&self) -> Vec<libc::iovec> {
        (0..IOVECS)
            .map(|_| libc::iovec {
                iov_base: self.0.cast(),
                iov_len: GIB4,
            })
            .collect()
    }

    fn byte(&self, offset: usize) -> u8 {
        assert!(offset < GIB4);
        // SAFETY: within the mapping.
        unsafe { self.0.add(offset).read_volatile() }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping made by `new`.
        unsafe { libc::munmap(self.0.cast(), GIB4) };
    }
}

fn device() -> *mut vi2c_device {
    let mut a = ptr::null_mut();
    // SAFETY: valid spec and out pointer.
    let st =
        unsafe { vi2c_adapter_new_sim(c"eeprom@0x50".as_ptr(), &raw mut a, ptr::null_mut(), 0) };
    assert_eq!(st, vi2c_status::Ok);
    let cfg = vi2c_device_config {
        address: c"0x50".as_ptr(),
        force: 0,
        require_zero_length: 0,
        queue_size: 64,
        notify: None,
        log: None,
        opaque: ptr::null_mut(),
        capture: ptr::null(),
        capture_bus: 0,
    };
    let mut d = ptr::null_mut();
    // SAFETY: valid config, adapter and out pointer.
    let st = unsafe { vi2c_device_new(&raw const cfg, a, &raw mut d, ptr::null_mut(), 0) };
    assert_eq!(st, vi2c_status::Ok);
    d
}

/// The out header of a request to 0x50 with `flags`.
fn header(flags: u32) -> Vec<u8> {
    let mut h = vec![0xa0, 0, 0, 0];
    h.extend_from_slice(&flags.to_le_bytes());
    h
}

/// Pushes one request and completes it; returns its used length.
fn run(d: *mut vi2c_device, out: &[libc::iovec], inb: &[libc::iovec]) -> u32 {
    // SAFETY: the iovecs describe live memory (the mapping, the header
    // and status buffers) that outlives the request.
    let st = unsafe {
        vi2c_device_push(
            d,
            7,
            out.as_ptr(),
            out.len(),
            inb.as_ptr(),
            inb.len(),
            ptr::null_mut(),
            0,
        )
    };
    assert_eq!(st, vi2c_status::Ok);
    let mut c = [vi2c_completion::default(); 2];
    // SAFETY: live device; room for 2 entries.
    let n = unsafe { vi2c_device_complete(d, c.as_mut_ptr(), c.len()) };
    assert_eq!(n, 1);
    assert_eq!(c[0].token, 7);
    c[0].used_len
}

#[test]
fn a_read_claiming_terabytes_touches_one_page() {
    let map = Mapping::new();
    let d = device();
    let mut hdr = header(2); // VIRTIO_I2C_FLAGS_M_RD
    let out = [libc::iovec {
        iov_base: hdr.as_mut_ptr().cast(),
        iov_len: hdr.len(),
    }];
    let inb = map.iovecs();
    let t = Instant::now();
    let used = run(d, &out, &inb);
    let took = t.elapsed();
    // The status byte, the last of 4 TiB, is ERR; nothing before it was
    // written, so the used length is 0.
    assert_eq!(map.byte(GIB4 - 1), 1);
    assert_eq!(used, 0);
    assert_eq!(map.resident_pages(), 1, "pages touched");
    // Before this bound, 64 MiB took ~460 ms (~7 s per GiB).
    assert!(took.as_millis() < 200, "completing took {took:?}");
    // SAFETY: live device, freed once.
    unsafe { vi2c_device_free(d) };
}

#[test]
fn a_write_claiming_terabytes_reads_nothing_of_it() {
    let map = Mapping::new();
    let d = device();
    let mut hdr = header(0);
    let mut status = [0xaau8];
    let mut out = vec![libc::iovec {
        iov_base: hdr.as_mut_ptr().cast(),
        iov_len: hdr.len(),
    }];
    out.extend(map.iovecs().into_iter().take(IOVECS - 1));
    let inb = [libc::iovec {
        iov_base: status.as_mut_ptr().cast(),
        iov_len: 1,
    }];
    let t = Instant::now();
    let used = run(d, &out, &inb);
    let took = t.elapsed();
    assert_eq!((status[0], used), (1, 1));
    assert_eq!(map.resident_pages(), 0, "pages touched");
    assert!(took.as_millis() < 200, "completing took {took:?}");
    // SAFETY: live device, freed once.
    unsafe { vi2c_device_free(d) };
}

#[test]
fn more_iovecs_than_an_element_can_have_are_refused_before_any_copy() {
    let d = device();
    let mut hdr = header(0);
    let mut status = [0xaau8];
    let out: Vec<libc::iovec> = (0..=IOVECS)
        .map(|_| libc::iovec {
            iov_base: hdr.as_mut_ptr().cast(),
            iov_len: 0,
        })
        .collect();
    let inb = [libc::iovec {
        iov_base: status.as_mut_ptr().cast(),
        iov_len: 1,
    }];
    let mut err = [0 as std::ffi::c_char; 128];
    // SAFETY: valid iovec arrays and buffer.
    let st = unsafe {
        vi2c_device_push(
            d,
            1,
            out.as_ptr(),
            out.len(),
            inb.as_ptr(),
            1,
            err.as_mut_ptr(),
            err.len(),
        )
    };
    assert_eq!(st, vi2c_status::InvalidArgument);
    // SAFETY: `call` terminated the message.
    let msg = unsafe { std::ffi::CStr::from_ptr(err.as_ptr()) };
    assert_eq!(
        msg.to_str().unwrap(),
        "more than 1024 iovecs in one part of a request"
    );
    assert_eq!(status[0], 0xaa);
    // SAFETY: live device, freed once.
    unsafe { vi2c_device_free(d) };
}
