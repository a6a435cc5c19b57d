// SPDX-License-Identifier: GPL-2.0-or-later
//! A reset storm against a slow host adapter: 200 times, 64 writes of
//! 8 KiB are queued and the device is reset. Every reset must cancel the
//! writes not yet on the host (at most the one inside a transfer goes on),
//! and nothing may accumulate: heap bytes in use after the storm are what
//! they were after the first round.
//!
//! A test binary of its own, with one test, so that its counting
//! allocator sees nothing but this storm.

#![allow(clippy::unwrap_used)]

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use virtio_i2c_rust::{
    host::sim::SimAdapter,
    policy::Policy,
    virtio::{
        queue::{Element, Execution, RequestQueue},
        sg::Sg,
    },
};
use vm_memory::VolatileSlice;

/// The system allocator, counting the bytes in use.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only
// a counter is kept beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded; `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// A request's status byte.
struct El(Mutex<[u8; 1]>);

impl Element for El {
    fn writable_len(&self) -> usize {
        1
    }
    fn with_writable<R>(&self, f: impl FnOnce(&Sg<'_, '_>) -> R) -> R {
        let mut b = self.0.lock().unwrap();
        let s = [VolatileSlice::from(&mut b[..])];
        f(&Sg::new(&s))
    }
}

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

#[test]
fn a_reset_storm_neither_reaches_the_host_nor_grows_memory() {
    // Each transfer takes 2 ms, as an 8 KiB write on a 100 kHz bus would
    // take much longer still.
    let sim = SimAdapter::from_spec("eeprom@0x50,blocking,delay-us=2000").unwrap();
    let handle = sim.handle();
    let notified = Arc::new(AtomicUsize::new(0));
    let n2 = Arc::clone(&notified);
    let q: RequestQueue<El, SimAdapter> = RequestQueue::new(
        sim,
        Policy::parse("0x50").unwrap(),
        false,
        64,
        Execution::Worker(Box::new(move || {
            n2.fetch_add(1, Ordering::SeqCst);
        })),
    )
    .unwrap();
    let mut write = vec![0xa0, 0, 0, 0, 0, 0, 0, 0];
    write.resize(8 + 8192, 0x5a);
    let mut round = |q: &RequestQueue<El, SimAdapter>| {
        for _ in 0..64 {
            let s = [VolatileSlice::from(&mut write[..])];
            q.push(El(Mutex::new([0xaa])), &Sg::new(&s))
                .map_err(|e| e.1)
                .unwrap();
        }
        assert_eq!(q.reset().len(), 64);
    };
    round(&q);
    std::thread::sleep(Duration::from_millis(20));
    let (heap0, rss0) = (IN_USE.load(Ordering::Relaxed), rss_kib());
    let t = Instant::now();
    for _ in 1..200 {
        round(&q);
    }
    let storm = t.elapsed();
    // Let the transfer in progress, if any, end.
    std::thread::sleep(Duration::from_millis(20));
    let (heap1, rss1) = (IN_USE.load(Ordering::Relaxed), rss_kib());
    let transfers = handle.lock().rdwr_calls;
    eprintln!(
        "reset storm: 200 x 64 writes of 8 KiB in {storm:?}; {transfers} reached the host; \
         heap {heap0} -> {heap1} bytes; RSS {rss0} -> {rss1} KiB"
    );
    // At most the one group inside a transfer per reset reached the host
    // (12,800 were queued).
    assert!(transfers <= 200, "{transfers} transfers reached the host");
    // Nothing accumulated: heap bytes within 64 KiB of the first round
    // (one round holds 64 x 8 KiB = 512 KiB while it is queued).
    assert!(
        heap1 < heap0 + 64 * 1024,
        "heap grew from {heap0} to {heap1} bytes"
    );
    assert_eq!(q.outstanding(), 0);
}
