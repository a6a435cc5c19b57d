// SPDX-License-Identifier: GPL-2.0-or-later
//! Soak: 10^6 requests through the C ABI, as QEMU's glue drives it, on the
//! simulation adapter, inline and on the worker (the simulation's
//! "blocking" mode), with a device reset every 1000 requests. Prints the
//! RSS after a warm-up (the first 10 %) and at the end, and the worst time
//! from pushing a request to its completion (and the median).
//!
//! `cargo bench --bench soak [-- REQUESTS]`
//!
//! A plain harness (`harness = false`).

// Benchmark code: fixed inputs, not reachable from a guest or from C.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::{
    ffi::{c_void, CStr},
    ptr,
    sync::{Condvar, Mutex},
    time::{Duration, Instant},
};

use virtio_i2c_rust::ffi::{adapter::*, device::*, vi2c_status};

const QUEUE: usize = 64;
const RESET_EVERY: usize = 1000;

/// Wakes the submitting thread when the worker has results.
struct Notified {
    n: Mutex<u64>,
    cv: Condvar,
}

static NOTIFIED: Notified = Notified {
    n: Mutex::new(0),
    cv: Condvar::new(),
};

unsafe extern "C" fn notify(_: *mut c_void) {
    *NOTIFIED.n.lock().unwrap() += 1;
    NOTIFIED.cv.notify_all();
}

unsafe extern "C" fn on_drop(_: *mut c_void, _: u64) {}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse().ok()))
        .map_or(0, |pages: u64| pages * 4)
}

/// One request slot: a 1-byte read of register 0x10 at 0x48.
struct Slot {
    out: [u8; 8],
    inb: [u8; 2],
    pushed: Option<Instant>,
}

fn device(spec: &CStr, worker: bool) -> *mut vi2c_device {
    let mut a = ptr::null_mut();
    // SAFETY: valid spec and out pointer.
    let st = unsafe { vi2c_adapter_new_sim(spec.as_ptr(), &raw mut a, ptr::null_mut(), 0) };
    assert_eq!(st, vi2c_status::Ok);
    let cfg = vi2c_device_config {
        address: c"0x48".as_ptr(),
        force: 0,
        require_zero_length: 0,
        queue_size: u32::try_from(QUEUE).unwrap(),
        notify: if worker { Some(notify) } else { None },
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

struct Latencies {
    samples: Vec<Duration>,
    n: usize,
    worst: Duration,
}

impl Latencies {
    fn add(&mut self, d: Duration) {
        self.worst = self.worst.max(d);
        if self.n % 16 == 0 {
            if let Some(s) = self.samples.get_mut(self.n / 16) {
                *s = d;
            }
        }
        self.n += 1;
    }
}

struct Report {
    rss_warm: u64,
    rss_end: u64,
    worst: Duration,
    median: Duration,
    completed: usize,
    dropped: usize,
    took: Duration,
}

fn soak(total: usize, worker: bool) -> Report {
    let spec = if worker {
        c"regs@0x48,blocking"
    } else {
        c"regs@0x48"
    };
    let d = device(spec, worker);
    let mut slots: Vec<Slot> = (0..QUEUE)
        .map(|_| Slot {
            out: [0x90, 0, 0, 0, 2, 0, 0, 0],
            inb: [0xaa; 2],
            pushed: None,
        })
        .collect();
    let mut free: Vec<usize> = (0..QUEUE).rev().collect();
    // Every 16th latency, in a buffer filled before the warm-up RSS is
    // taken, so the measurement's own memory does not grow meanwhile.
    let mut latencies = Latencies {
        samples: vec![Duration::ZERO; total / 16 + QUEUE],
        n: 0,
        worst: Duration::ZERO,
    };
    let mut done = [vi2c_completion::default(); QUEUE];
    let (mut completed, mut dropped) = (0, 0);
    let mut rss_warm = 0;
    let t0 = Instant::now();
    let mut collect = |slots: &mut Vec<Slot>, free: &mut Vec<usize>, latencies: &mut Latencies| {
        // SAFETY: live device; `done` has room for QUEUE entries.
        let n = unsafe { vi2c_device_complete(d, done.as_mut_ptr(), QUEUE) };
        let now = Instant::now();
        for c in &done[..n] {
            let i = usize::try_from(c.token).unwrap();
            let s = &mut slots[i];
            assert_eq!(s.inb[1], 0, "request failed");
            latencies.add(now - s.pushed.take().unwrap());
            free.push(i);
        }
        n
    };
    for k in 0..total {
        if k == total / 10 {
            rss_warm = rss_kib();
        }
        if k % RESET_EVERY == RESET_EVERY - 1 {
            // SAFETY: live device.
            dropped += unsafe { vi2c_device_reset(d, Some(on_drop), ptr::null_mut()) };
            for (i, s) in slots.iter_mut().enumerate() {
                if s.pushed.take().is_some() {
                    free.push(i);
                }
            }
        }
        while free.is_empty() {
            if worker {
                let n = NOTIFIED.n.lock().unwrap();
                let _n = NOTIFIED
                    .cv
                    .wait_timeout(n, Duration::from_millis(1))
                    .unwrap();
            }
            completed += collect(&mut slots, &mut free, &mut latencies);
        }
        let i = free.pop().unwrap();
        let s = &mut slots[i];
        s.inb = [0xaa; 2];
        let out = libc::iovec {
            iov_base: s.out.as_mut_ptr().cast(),
            iov_len: 8,
        };
        let inb = libc::iovec {
            iov_base: s.inb.as_mut_ptr().cast(),
            iov_len: 2,
        };
        s.pushed = Some(Instant::now());
        // SAFETY: the iovecs describe the slot's buffers, which live until
        // the request is completed or reset.
        let st = unsafe {
            vi2c_device_push(
                d,
                i as u64,
                &raw const out,
                1,
                &raw const inb,
                1,
                ptr::null_mut(),
                0,
            )
        };
        assert_eq!(st, vi2c_status::Ok);
        // SAFETY: live device.
        unsafe { vi2c_device_flush(d) };
        completed += collect(&mut slots, &mut free, &mut latencies);
    }
    while free.len() < QUEUE {
        if worker {
            let n = NOTIFIED.n.lock().unwrap();
            let _n = NOTIFIED
                .cv
                .wait_timeout(n, Duration::from_millis(1))
                .unwrap();
        }
        completed += collect(&mut slots, &mut free, &mut latencies);
    }
    let took = t0.elapsed();
    // SAFETY: live device, freed once.
    unsafe { vi2c_device_free(d) };
    let rss_end = rss_kib();
    let samples = &mut latencies.samples[..latencies.n / 16];
    samples.sort_unstable();
    Report {
        rss_warm,
        rss_end,
        worst: latencies.worst,
        median: samples.get(samples.len() / 2).copied().unwrap_or_default(),
        completed,
        dropped,
        took,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let total = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000usize);
    for (name, worker) in [("inline", false), ("worker", true)] {
        let r = soak(total, worker);
        println!(
            "{name:<7} {total} requests in {:.1?}: {} completed, {} dropped by {} resets; \
             RSS {} KiB after warm-up, {} KiB at the end; completion median {:.1?}, worst {:.1?}",
            r.took,
            r.completed,
            r.dropped,
            total / RESET_EVERY,
            r.rss_warm,
            r.rss_end,
            r.median,
            r.worst
        );
    }
}
