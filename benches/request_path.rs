// SPDX-License-Identifier: GPL-2.0-or-later
//! Nanoseconds per request through the whole device path: guest buffers
//! (iovecs) -> parse -> group -> policy -> simulation adapter -> status
//! write-back, directly in Rust and through the C ABI.
//!
//! `cargo bench` prints, for each case, the median and the best of several
//! samples, and "own overhead": the path minus the same transfer run on
//! the simulation adapter alone (the adapter stands in for the bus, which
//! on real hardware costs ~90 us per byte at 100 kHz). The baseline runs
//! the same prepared transfer again and again, so it costs the adapter's
//! work and nothing else.
//!
//! Every iteration checks what it got back: each request completed, with
//! status OK, so a change that made requests fail cannot look faster.
//!
//! `request_path CASE ITERS` runs one case ITERS times without timing, for
//! `valgrind --tool=callgrind` (`scripts/bench-instructions.sh` prints
//! instructions per request, which do not depend on the load of the
//! machine). Cases: rust1, c1, rust-group, c-group, adapter1,
//! adapter-group.
//!
//! A plain harness (`harness = false`), so the numbers need no extra crate.

// Benchmark code: fixed inputs, not reachable from a guest or from C.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::borrow_as_ptr)]

use std::{
    hint::black_box,
    ptr,
    time::{Duration, Instant},
};

use virtio_i2c_rust::{
    ffi::{adapter::*, device::*, vi2c_status},
    host::{self, sim::SimAdapter},
    i2c::{Address, Msg, Transfer},
    policy::Policy,
    virtio::{
        queue::{Element, Execution, RequestQueue},
        sg::Sg,
    },
};
use vm_memory::VolatileSlice;

const SAMPLES: usize = 9;

/// Runs `f` (which performs `per_call` requests) and returns the median
/// and best ns per request.
fn measure(mut f: impl FnMut(), per_call: u64) -> (f64, f64) {
    // Calibrate to ~50 ms per sample.
    let mut iters = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        if t.elapsed() > Duration::from_millis(20) {
            break;
        }
        iters *= 2;
    }
    let mut ns: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed().as_nanos() as f64 / (iters * per_call) as f64
        })
        .collect();
    ns.sort_by(f64::total_cmp);
    (ns[SAMPLES / 2], ns[0])
}

fn hdr(addr: u8, flags: u32) -> [u8; 8] {
    let mut h = [0u8; 8];
    h[..2].copy_from_slice(&(u16::from(addr) << 1).to_le_bytes());
    h[4..].copy_from_slice(&flags.to_le_bytes());
    h
}

const FAIL_NEXT: u32 = 1;
const M_RD: u32 = 2;

/// One request's buffers, as a driver lays them out.
struct Req {
    out: Vec<u8>,
    inb: Vec<u8>,
}

impl Req {
    fn read(addr: u8, flags: u32, n: usize) -> Self {
        Self {
            out: hdr(addr, flags | M_RD).to_vec(),
            inb: vec![0; n + 1],
        }
    }
    fn write(addr: u8, flags: u32, data: &[u8]) -> Self {
        let mut out = hdr(addr, flags).to_vec();
        out.extend_from_slice(data);
        Self {
            out,
            inb: vec![0; 1],
        }
    }
}

/// A request's device-writable buffer, as the transport holds it.
struct BenchEl {
    base: *mut u8,
    len: usize,
}

// SAFETY: the buffer is only touched on the benchmark's one thread.
unsafe impl Send for BenchEl {}

impl Element for BenchEl {
    fn writable_len(&self) -> usize {
        self.len
    }
    fn with_writable<R>(&self, f: impl FnOnce(&Sg<'_, '_>) -> R) -> R {
        // SAFETY: `base` points to a live buffer of `len` bytes of the
        // benchmark's requests, used by nobody else meanwhile.
        let s = [unsafe { VolatileSlice::new(self.base, self.len) }];
        f(&Sg::new(&s))
    }
}

/// The Rust path: parse from volatile slices, request queue, write-back.
fn rust_path(reqs: &mut [Req]) -> impl FnMut() + '_ {
    let queue: RequestQueue<BenchEl, SimAdapter> = RequestQueue::new(
        SimAdapter::from_spec("eeprom@0x50,regs@0x48").unwrap(),
        Policy::parse("0x48,0x50").unwrap(),
        false,
        64,
        Execution::Inline,
    )
    .unwrap();
    move || {
        for r in reqs.iter_mut() {
            let out = [VolatileSlice::from(&mut r.out[..])];
            let el = BenchEl {
                base: r.inb.as_mut_ptr(),
                len: r.inb.len(),
            };
            queue.push(el, &Sg::new(&out)).map_err(|e| e.1).unwrap();
        }
        let n = queue.complete(
            |e, used| {
                black_box((e, used));
            },
            |_| {},
        );
        check(n, reqs);
    }
}

/// Every request completed, with status OK.
fn check(completed: usize, reqs: &[Req]) {
    assert_eq!(completed, reqs.len(), "requests left without completion");
    for r in reqs {
        assert_eq!(r.inb.last(), Some(&0), "a request failed");
    }
}

/// The C ABI path: vi2c_device_push / vi2c_device_complete.
fn c_path(reqs: &mut [Req]) -> impl FnMut() + '_ {
    let mut adapter = ptr::null_mut();
    // SAFETY: valid spec string and out pointer.
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
        require_zero_length: 0,
        queue_size: 64,
        notify: None,
        log: None,
        opaque: ptr::null_mut(),
        capture: ptr::null(),
        capture_bus: 0,
    };
    let mut dev = ptr::null_mut();
    // SAFETY: valid config, adapter and out pointer.
    let st = unsafe { vi2c_device_new(&cfg, adapter, &mut dev, ptr::null_mut(), 0) };
    assert_eq!(st, vi2c_status::Ok);
    let iovs: Vec<(libc::iovec, libc::iovec)> = reqs
        .iter_mut()
        .map(|r| {
            (
                libc::iovec {
                    iov_base: r.out.as_mut_ptr().cast(),
                    iov_len: r.out.len(),
                },
                libc::iovec {
                    iov_base: r.inb.as_mut_ptr().cast(),
                    iov_len: r.inb.len(),
                },
            )
        })
        .collect();
    let mut done = [vi2c_completion::default(); 4];
    move || {
        for (i, (o, inb)) in iovs.iter().enumerate() {
            // SAFETY: the iovecs describe the live buffers of `reqs`.
            let st = unsafe { vi2c_device_push(dev, i as u64, o, 1, inb, 1, ptr::null_mut(), 0) };
            assert_eq!(st, vi2c_status::Ok);
        }
        // SAFETY: live device; `done` has room for 4 entries.
        let n = unsafe { vi2c_device_complete(dev, done.as_mut_ptr(), done.len()) };
        check(n, reqs);
    }
}

/// The adapter alone, for the overhead subtraction: one prepared transfer,
/// run again and again (reads fill the same buffers).
fn adapter_only(msgs: Vec<Msg>) -> impl FnMut() {
    let mut sim = SimAdapter::from_spec("eeprom@0x50,regs@0x48").unwrap();
    let mut t = Transfer::new(msgs).unwrap();
    move || {
        host::transfer(&mut sim, black_box(&mut t)).unwrap();
    }
}

fn report(name: &str, per_req: u64, path: (f64, f64), adapter: (f64, f64)) {
    println!(
        "{name:<44} median {:>7.1} ns/request  best {:>7.1}  own overhead {:>7.1} ns/request",
        path.0,
        path.1,
        path.0 - adapter.0 / per_req as f64,
    );
}

fn one_read() -> Vec<Msg> {
    vec![Msg::read(Address::seven(0x48).unwrap(), 1).unwrap()]
}

fn write_read() -> Vec<Msg> {
    let a = Address::seven(0x48).unwrap();
    vec![Msg::write(a, vec![0x10]).unwrap(), Msg::read(a, 1).unwrap()]
}

fn group_reqs() -> Vec<Req> {
    vec![Req::write(0x48, FAIL_NEXT, &[0x10]), Req::read(0x48, 0, 1)]
}

/// Runs one case `iters` times, untimed (for callgrind).
fn run_case(case: &str, iters: u64) {
    let mut r1 = vec![Req::read(0x48, 0, 1)];
    let mut g = group_reqs();
    let mut f: Box<dyn FnMut() + '_> = match case {
        "rust1" => Box::new(rust_path(&mut r1)),
        "c1" => Box::new(c_path(&mut r1)),
        "rust-group" => Box::new(rust_path(&mut g)),
        "c-group" => Box::new(c_path(&mut g)),
        "adapter1" => Box::new(adapter_only(one_read())),
        "adapter-group" => Box::new(adapter_only(write_read())),
        _ => panic!("unknown case {case}"),
    };
    for _ in 0..iters {
        f();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo test --benches` runs this too; keep it short there.
    if args.iter().any(|a| a == "--test" || a == "--list") {
        return;
    }
    if let [case, iters] = args.as_slice() {
        run_case(case, iters.parse().unwrap());
        return;
    }
    let one_ad = measure(adapter_only(one_read()), 1);
    let wr_ad = measure(adapter_only(write_read()), 1);
    println!(
        "simulation adapter alone: 1-byte read {:.1} ns, write+read group {:.1} ns",
        one_ad.0, wr_ad.0
    );

    let mut r1 = vec![Req::read(0x48, 0, 1)];
    report(
        "1-byte read, Rust API",
        1,
        measure(rust_path(&mut r1), 1),
        one_ad,
    );
    let mut r1 = vec![Req::read(0x48, 0, 1)];
    report("1-byte read, C ABI", 1, measure(c_path(&mut r1), 1), one_ad);

    let mut g = group_reqs();
    report(
        "write+read group (per request), Rust API",
        2,
        measure(rust_path(&mut g), 2),
        wr_ad,
    );
    let mut g = group_reqs();
    report(
        "write+read group (per request), C ABI",
        2,
        measure(c_path(&mut g), 2),
        wr_ad,
    );
}
