// SPDX-License-Identifier: GPL-2.0-or-later
//! The request queue in worker mode (a host adapter that may block: the
//! simulation's "blocking" mode, with transfers of 0, 2, 5 or 20 us),
//! under arbitrary pushes, batch ends, completions, waits and resets:
//! every request accepted is completed or handed back by a reset exactly
//! once; a request handed back is never completed; the queue never holds
//! more than its size.
//!
//! The four queues (one per transfer time) live across inputs, so that an
//! execution costs no thread start; each input leaves its queue empty,
//! waiting for its requests (one input in four) or resetting the queue.
//! One input in 64 drops a queue of its own, with requests queued.
#![no_main]

use std::{
    collections::BTreeSet,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Condvar, Mutex, OnceLock,
    },
    time::{Duration, Instant},
};

use libfuzzer_sys::fuzz_target;
use virtio_i2c_rust::{
    host::sim::SimAdapter,
    policy::Policy,
    virtio::{
        queue::{Element, Execution, RequestQueue},
        sg::Sg,
        VIRTIO_I2C_FLAGS_FAIL_NEXT, VIRTIO_I2C_FLAGS_M_RD,
    },
};
use vm_memory::VolatileSlice;

struct El {
    id: u64,
    writable: Mutex<Vec<u8>>,
}

impl Element for El {
    fn writable_len(&self) -> usize {
        self.writable.lock().unwrap().len()
    }
    fn with_writable<R>(&self, f: impl FnOnce(&Sg<'_, '_>) -> R) -> R {
        let mut w = self.writable.lock().unwrap();
        let s = [VolatileSlice::from(&mut w[..])];
        f(&Sg::new(&s))
    }
}

#[derive(Default)]
struct Notified {
    n: Mutex<u64>,
    cv: Condvar,
}

const QUEUE: usize = 16;

type Queue = RequestQueue<El, SimAdapter>;

fn queue(delay_us: u32) -> (Queue, Arc<Notified>) {
    let spec = format!("eeprom@0x50,regs@0x48,blocking,delay-us={delay_us}");
    let notified = Arc::new(Notified::default());
    let n2 = Arc::clone(&notified);
    let q = RequestQueue::new(
        SimAdapter::from_spec(&spec).unwrap(),
        Policy::parse("0x48,0x50:ro,0x51").unwrap(),
        false,
        QUEUE,
        Execution::Worker(Box::new(move || {
            *n2.n.lock().unwrap() += 1;
            n2.cv.notify_all();
        })),
    )
    .unwrap();
    (q, notified)
}

static QUEUES: OnceLock<Vec<(Queue, Arc<Notified>)>> = OnceLock::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let [select, ops @ ..] = data else {
        return;
    };
    let own;
    let (q, notified) = if select & 0xfc == 0xfc {
        own = queue(2);
        (&own.0, &own.1)
    } else {
        let queues = QUEUES.get_or_init(|| [0, 2, 5, 20].into_iter().map(queue).collect());
        let (q, n) = &queues[usize::from(select & 3)];
        (q, n)
    };
    let mut live = BTreeSet::new();
    let mut done = BTreeSet::new();
    let mut dropped = BTreeSet::new();
    let mut id = NEXT_ID.fetch_add(1 << 16, Ordering::Relaxed);
    let collect =
        |q: &RequestQueue<El, SimAdapter>, live: &mut BTreeSet<u64>, done: &mut BTreeSet<u64>| {
            q.complete(
                |e, used| {
                    assert!(
                        live.remove(&e.id),
                        "request {} completed twice or after a reset",
                        e.id
                    );
                    assert!(used as usize <= e.writable_len());
                    done.insert(e.id);
                },
                |_| {},
            );
        };
    for chunk in ops.chunks(2) {
        let [op, arg] = *chunk else { break };
        match op & 7 {
            0..=3 => {
                let addr = [0x48u8, 0x50, 0x51, 0x33][usize::from(arg & 3)];
                let read = op & 8 != 0;
                let mut flags = if read { VIRTIO_I2C_FLAGS_M_RD } else { 0 };
                if op & 0x10 != 0 {
                    flags |= VIRTIO_I2C_FLAGS_FAIL_NEXT;
                }
                let n = usize::from(arg >> 2);
                let mut out = (u16::from(addr) << 1).to_le_bytes().to_vec();
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&flags.to_le_bytes());
                if !read {
                    out.resize(8 + n, arg);
                }
                let s = [VolatileSlice::from(&mut out[..])];
                let el = El {
                    id,
                    writable: Mutex::new(vec![0xaa; if read { n + 1 } else { 1 }]),
                };
                match q.push(el, &Sg::new(&s)) {
                    Ok(()) => {
                        live.insert(id);
                    }
                    Err((_, full)) => assert_eq!(full.outstanding, QUEUE),
                }
                id += 1;
            }
            4 => q.flush(),
            5 => collect(q, &mut live, &mut done),
            6 => {
                for e in q.reset() {
                    assert!(live.remove(&e.id), "reset handed back {} twice", e.id);
                    dropped.insert(e.id);
                }
                assert_eq!(q.outstanding(), 0);
            }
            _ => {
                // Wait for the worker a little, as the main loop would.
                let n = notified.n.lock().unwrap();
                let _ = notified
                    .cv
                    .wait_timeout(n, Duration::from_micros(u64::from(arg) / 16))
                    .unwrap();
            }
        }
        assert!(q.outstanding() <= QUEUE);
        assert_eq!(q.outstanding(), live.len());
    }
    assert!(done.is_disjoint(&dropped));
    if select & 0xfc == 0xfc {
        // Dropped (unplugged) with its requests queued: at once, and its
        // worker ends by itself.
        return;
    }
    // One input in four waits for everything still live to complete;
    // the others end with a reset, as a guest that reboots.
    if select & 0x10 != 0 {
        q.flush();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !live.is_empty() {
            assert!(Instant::now() < deadline, "requests stranded: {live:?}");
            collect(q, &mut live, &mut done);
            std::thread::yield_now();
        }
    } else {
        for e in q.reset() {
            assert!(live.remove(&e.id), "reset handed back {} twice", e.id);
        }
        assert!(
            live.is_empty(),
            "requests neither completed nor reset: {live:?}"
        );
    }
    assert_eq!(q.outstanding(), 0);
});
