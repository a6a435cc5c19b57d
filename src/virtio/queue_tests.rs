// SPDX-License-Identifier: GPL-2.0-or-later
//! Tests of the request queue: ordering, inline and worker execution,
//! reset, panicking adapters.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Condvar,
    },
    time::Duration,
};

use vm_memory::VolatileSlice;

use super::*;
use crate::{
    host::{sim::SimAdapter, smbus::SmbusXfer, Failure, HostError},
    i2c::{Address, Funcs, Transfer},
    virtio::{
        request::RequestError, VIRTIO_F_VERSION_1, VIRTIO_I2C_FLAGS_FAIL_NEXT,
        VIRTIO_I2C_FLAGS_M_RD, VIRTIO_I2C_MSG_ERR, VIRTIO_I2C_MSG_OK,
    },
};

/// A request element of the tests: an id and its device-writable bytes.
#[derive(Debug)]
pub(crate) struct El {
    pub(crate) id: u64,
    pub(crate) writable: Mutex<Vec<u8>>,
}

impl El {
    pub(crate) fn new(id: u64, writable_len: usize) -> Self {
        Self {
            id,
            writable: Mutex::new(vec![0xaa; writable_len]),
        }
    }

    /// The status byte (the last device-writable byte).
    pub(crate) fn status(&self) -> Option<u8> {
        lock(&self.writable).last().copied()
    }
}

impl Element for El {
    fn writable_len(&self) -> usize {
        lock(&self.writable).len()
    }

    fn with_writable<R>(&self, f: impl FnOnce(&Sg<'_, '_>) -> R) -> R {
        let mut w = lock(&self.writable);
        let s = [VolatileSlice::from(&mut w[..])];
        f(&Sg::new(&s))
    }
}

/// The device-readable part of a request to `addr` with `flags`.
pub(crate) fn header(addr: u8, flags: u32) -> Vec<u8> {
    let mut h = (u16::from(addr) << 1).to_le_bytes().to_vec();
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(&flags.to_le_bytes());
    h
}

/// Pushes a 1-byte read of `addr` as element `id`.
fn read<A: I2cAdapter>(q: &RequestQueue<El, A>, id: u64, addr: u8, fail_next: bool) {
    let flags = VIRTIO_I2C_FLAGS_M_RD
        | if fail_next {
            VIRTIO_I2C_FLAGS_FAIL_NEXT
        } else {
            0
        };
    let mut h = header(addr, flags);
    let s = [VolatileSlice::from(&mut h[..])];
    q.push(El::new(id, 2), &Sg::new(&s)).unwrap();
}

/// What `complete` handed back: (element, used length), and the errors.
type Collected = (Vec<(El, u32)>, Vec<GroupError>);

fn complete<A: I2cAdapter>(q: &RequestQueue<El, A>) -> Collected {
    let mut done = Vec::new();
    let mut errors = Vec::new();
    let n = q.complete(|e, used| done.push((e, used)), |e| errors.push(e.clone()));
    assert_eq!(n, done.len());
    (done, errors)
}

fn ids(c: &[(El, u32)]) -> Vec<u64> {
    c.iter().map(|(e, _)| e.id).collect()
}

fn sim() -> SimAdapter {
    SimAdapter::from_spec("regs@0x48").unwrap()
}

fn inline<A: I2cAdapter>(adapter: A) -> RequestQueue<El, A> {
    RequestQueue::new(adapter, Policy::AllowAll7Bit, false, 1024, Execution::Inline).unwrap()
}

#[test]
fn inline_runs_at_group_end() {
    let q = inline(sim());
    read(&q, 1, 0x48, true);
    assert!(complete(&q).0.is_empty());
    read(&q, 2, 0x48, false);
    let (done, errors) = complete(&q);
    assert_eq!(ids(&done), vec![1, 2]);
    assert!(errors.is_empty());
    assert_eq!(q.outstanding(), 0);
}

#[test]
fn flush_runs_a_partial_group() {
    let q = inline(sim());
    read(&q, 1, 0x49, true);
    q.flush();
    let (done, errors) = complete(&q);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0.status(), Some(VIRTIO_I2C_MSG_ERR));
    assert!(errors[0].is_nack());
    read(&q, 2, 0x48, false);
    let (_, errors) = complete(&q);
    assert_eq!(errors, vec![GroupError::PreviousPartFailed]);
}

struct Waiter {
    n: Mutex<usize>,
    cv: Condvar,
}

fn worker_queue<A: I2cAdapter + 'static>(adapter: A) -> (RequestQueue<El, A>, Arc<Waiter>) {
    let w = Arc::new(Waiter {
        n: Mutex::new(0),
        cv: Condvar::new(),
    });
    let w2 = Arc::clone(&w);
    let q = RequestQueue::new(
        adapter,
        Policy::AllowAll7Bit,
        false,
        1024,
        Execution::Worker(Box::new(move || {
            *w2.n.lock().unwrap() += 1;
            w2.cv.notify_all();
        })),
    )
    .unwrap();
    (q, w)
}

fn wait_for(w: &Waiter, groups: usize) {
    let g = w.n.lock().unwrap();
    let (_guard, t) =
        w.cv.wait_timeout_while(g, Duration::from_secs(10), |n| *n < groups)
            .unwrap();
    assert!(!t.timed_out(), "worker did not finish");
}

#[test]
fn worker_completes_in_order_under_concurrent_submission() {
    let (q, w) = worker_queue(sim());
    let q = Arc::new(q);
    const THREADS: u64 = 4;
    const PER: u64 = 250;
    const TOTAL: usize = 1000;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let q = Arc::clone(&q);
            thread::spawn(move || {
                for i in 0..PER {
                    read(&q, t * 10_000 + i, 0x48, false);
                    if i % 16 == 0 {
                        // Collecting while others submit must not lose
                        // or reorder anything either.
                        let _ = q.outstanding();
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    wait_for(&w, TOTAL);
    let (done, errors) = complete(&q);
    assert_eq!(done.len(), TOTAL);
    assert!(errors.is_empty());
    // Per submitting thread, elements come back in the order pushed.
    for t in 0..THREADS {
        let mine: Vec<u64> = ids(&done).into_iter().filter(|k| k / 10_000 == t).collect();
        let mut sorted = mine.clone();
        sorted.sort_unstable();
        assert_eq!(mine, sorted);
        assert_eq!(mine.len() as u64, PER);
    }
    assert_eq!(q.outstanding(), 0);
}

#[test]
fn worker_collects_only_ready_results() {
    let (q, w) = worker_queue(sim());
    read(&q, 1, 0x48, true);
    read(&q, 2, 0x48, false);
    read(&q, 3, 0x47, false);
    wait_for(&w, 2);
    let (done, errors) = complete(&q);
    assert_eq!(ids(&done), vec![1, 2, 3]);
    assert_eq!(done[2].0.status(), Some(VIRTIO_I2C_MSG_ERR));
    assert_eq!(errors.len(), 1);
    assert!(complete(&q).0.is_empty());
}

#[test]
fn reset_returns_every_outstanding_token_and_drops_stale_results() {
    let (q, w) = worker_queue(sim());
    read(&q, 1, 0x48, false);
    read(&q, 2, 0x48, true);
    wait_for(&w, 1);
    let mut toks: Vec<u64> = q.reset().iter().map(|e| e.id).collect();
    toks.sort_unstable();
    assert_eq!(toks, vec![1, 2]);
    assert_eq!(q.outstanding(), 0);
    assert!(complete(&q).0.is_empty());
    read(&q, 3, 0x48, false);
    wait_for(&w, 2);
    let (done, _) = complete(&q);
    assert_eq!(ids(&done), vec![3]);
}

/// An adapter that panics on every transfer.
struct Panicky;
impl I2cAdapter for Panicky {
    fn funcs(&self) -> Funcs {
        Funcs(Funcs::I2C)
    }
    fn rdwr(&mut self, _: &mut Transfer) -> Result<(), Failure> {
        panic!("adapter bug")
    }
    fn smbus(&mut self, _: Address, _: &mut SmbusXfer) -> Result<(), HostError> {
        panic!("adapter bug")
    }
    fn name(&self) -> String {
        "panicky".into()
    }
}

#[test]
fn a_panicking_adapter_fails_the_group_and_the_worker_goes_on() {
    let (q, w) = worker_queue(Panicky);
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    read(&q, 1, 0x48, false);
    read(&q, 2, 0x48, false);
    wait_for(&w, 2);
    std::panic::set_hook(prev);
    let (done, errors) = complete(&q);
    assert_eq!(done.len(), 2);
    assert!(done
        .iter()
        .all(|(e, _)| e.status() == Some(VIRTIO_I2C_MSG_ERR)));
    assert_eq!(errors, vec![GroupError::Internal, GroupError::Internal]);
}

#[test]
fn a_panicking_adapter_inline_fails_the_group() {
    let q = inline(Panicky);
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    read(&q, 1, 0x48, true);
    read(&q, 2, 0x48, false);
    read(&q, 3, 0x48, false);
    std::panic::set_hook(prev);
    let (done, _) = complete(&q);
    assert_eq!(ids(&done), vec![1, 2, 3]);
    assert!(done
        .iter()
        .all(|(e, _)| e.status() == Some(VIRTIO_I2C_MSG_ERR)));
    assert_eq!(q.outstanding(), 0);
}

/// A host adapter whose transfers wait at a gate, as a slow bus does: it
/// counts the transfers that reach it, and says when it is dropped.
#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    cv: Condvar,
}

#[derive(Default)]
struct GateState {
    open: bool,
    /// Transfers that reached the adapter.
    entered: usize,
    dropped: bool,
}

impl Gate {
    fn set_open(&self, open: bool) {
        lock(&self.state).open = open;
        self.cv.notify_all();
    }

    /// Waits until `n` transfers have reached the adapter.
    fn wait_entered(&self, n: usize) {
        let st = lock(&self.state);
        let (_st, t) = self
            .cv
            .wait_timeout_while(st, Duration::from_secs(10), |s| s.entered < n)
            .unwrap();
        assert!(!t.timed_out(), "no transfer reached the adapter");
    }

    fn entered(&self) -> usize {
        lock(&self.state).entered
    }
}

struct GateAdapter(Arc<Gate>);

impl I2cAdapter for GateAdapter {
    fn funcs(&self) -> Funcs {
        Funcs(Funcs::I2C)
    }
    fn rdwr(&mut self, _: &mut Transfer) -> Result<(), Failure> {
        let mut st = lock(&self.0.state);
        st.entered += 1;
        self.0.cv.notify_all();
        while !st.open {
            st = self.0.cv.wait(st).unwrap();
        }
        Ok(())
    }
    fn smbus(&mut self, _: Address, _: &mut SmbusXfer) -> Result<(), HostError> {
        Ok(())
    }
    fn name(&self) -> String {
        "gate".into()
    }
    fn may_block(&self) -> bool {
        true
    }
}

impl Drop for GateAdapter {
    fn drop(&mut self) {
        lock(&self.0.state).dropped = true;
        self.0.cv.notify_all();
    }
}

/// Pushes `n` one-request groups, ids from `first`.
fn reads<A: I2cAdapter>(q: &RequestQueue<El, A>, first: u64, n: u64) {
    for id in first..first + n {
        read(q, id, 0x48, false);
    }
}

#[test]
fn a_reset_cancels_every_group_not_yet_on_the_host() {
    let gate = Arc::new(Gate::default());
    let (q, w) = worker_queue(GateAdapter(Arc::clone(&gate)));
    // Four times: 64 groups queued, the first inside its transfer, reset.
    for round in 0..4u64 {
        reads(&q, round * 100, 64);
        gate.wait_entered(usize::try_from(round).unwrap() + 1);
        let t = std::time::Instant::now();
        assert_eq!(q.reset().len(), 64);
        assert!(t.elapsed() < Duration::from_secs(1), "reset waited for the host");
        assert_eq!(q.outstanding(), 0);
        // The transfer in progress ends; nothing queued behind it runs.
        gate.set_open(true);
        wait_for(&w, usize::try_from(round).unwrap() + 1);
        gate.set_open(false);
        assert_eq!(gate.entered(), usize::try_from(round).unwrap() + 1);
    }
    // 256 groups were pushed, 4 reached the host. A live request still
    // works, and its result is the only one delivered.
    gate.set_open(true);
    read(&q, 999, 0x48, false);
    wait_for(&w, 5);
    let (done, errors) = complete(&q);
    assert_eq!(ids(&done), vec![999]);
    assert!(errors.is_empty());
    assert_eq!(gate.entered(), 5);
}

#[test]
fn outstanding_requests_are_bounded_by_the_queue_size() {
    let q = RequestQueue::new(sim(), Policy::AllowAll7Bit, false, 3, Execution::Inline).unwrap();
    let mut h = header(0x48, VIRTIO_I2C_FLAGS_M_RD | VIRTIO_I2C_FLAGS_FAIL_NEXT);
    let s = [VolatileSlice::from(&mut h[..])];
    for id in 0..3 {
        q.push(El::new(id, 2), &Sg::new(&s)).unwrap();
    }
    let (back, full) = q.push(El::new(3, 2), &Sg::new(&s)).unwrap_err();
    assert_eq!((back.id, full), (3, QueueFull { outstanding: 3 }));
    assert_eq!(
        full.to_string(),
        "3 requests are outstanding already, as many as the queue has entries"
    );
    q.flush();
    assert_eq!(complete(&q).0.len(), 3);
    q.push(El::new(4, 2), &Sg::new(&s)).unwrap();
    // A reset frees the room too.
    assert_eq!(q.reset().len(), 1);
    assert_eq!(q.outstanding(), 0);
}

#[test]
fn dropping_the_queue_does_not_wait_for_the_host_nor_run_the_backlog() {
    let gate = Arc::new(Gate::default());
    let notified = Arc::new(AtomicUsize::new(0));
    let n2 = Arc::clone(&notified);
    let q: RequestQueue<El, GateAdapter> = RequestQueue::new(
        GateAdapter(Arc::clone(&gate)),
        Policy::AllowAll7Bit,
        false,
        1024,
        Execution::Worker(Box::new(move || {
            n2.fetch_add(1, Ordering::SeqCst);
        })),
    )
    .unwrap();
    reads(&q, 0, 50);
    gate.wait_entered(1);
    let t = std::time::Instant::now();
    drop(q);
    assert!(t.elapsed() < Duration::from_secs(1), "drop waited for the host");
    // The transfer in progress ends; the worker then stops by itself,
    // dropping the adapter (and so its claims), and notifies nobody.
    gate.set_open(true);
    let st = lock(&gate.state);
    let (st, timeout) = gate
        .cv
        .wait_timeout_while(st, Duration::from_secs(10), |s| !s.dropped)
        .unwrap();
    assert!(!timeout.timed_out(), "the worker kept the adapter");
    assert_eq!(st.entered, 1, "the backlog reached the host");
    assert_eq!(notified.load(Ordering::SeqCst), 0);
}

#[test]
fn a_refused_driver_gets_errors_and_the_host_is_untouched() {
    let adapter = sim();
    let bus = adapter.handle();
    let q = RequestQueue::new(adapter, Policy::AllowAll7Bit, true, 64, Execution::Inline).unwrap();
    // A driver without VIRTIO_I2C_F_ZERO_LENGTH_REQUEST (Linux 5.15), on a
    // legacy transport where FEATURES_OK cannot refuse it, or a driver
    // that ignores the refusal.
    assert!(matches!(
        q.set_features(VIRTIO_F_VERSION_1),
        Err(FeatureError::ZeroLengthNotAccepted { .. })
    ));
    read(&q, 1, 0x48, false);
    let (done, errors) = complete(&q);
    assert_eq!(done[0].0.status(), Some(VIRTIO_I2C_MSG_ERR));
    assert_eq!(
        errors,
        vec![GroupError::Malformed {
            index: 0,
            source: RequestError::DriverRefused
        }]
    );
    let host_calls = || {
        let b = bus.lock();
        b.rdwr_calls + b.smbus_calls
    };
    assert_eq!(host_calls(), 0);
    // Features set again (after a reset): served.
    q.set_features(DEVICE_FEATURES).unwrap();
    read(&q, 2, 0x48, false);
    let (done, errors) = complete(&q);
    assert_eq!(done[0].0.status(), Some(VIRTIO_I2C_MSG_OK));
    assert!(errors.is_empty());
    assert_eq!(host_calls(), 1);
}

#[test]
fn features_choose_the_protocol_and_a_reset_forgets_them() {
    let q = inline(sim());
    // A legacy driver's read: no M_RD, a device-writable buffer.
    let legacy_read = |q: &RequestQueue<El, SimAdapter>, id| {
        let mut h = header(0x48, 0);
        let s = [VolatileSlice::from(&mut h[..])];
        q.push(El::new(id, 2), &Sg::new(&s)).unwrap();
        complete(q).0[0].0.status()
    };
    // Until features are set, the current protocol: a write with a
    // device-writable buffer.
    assert_eq!(legacy_read(&q, 1), Some(VIRTIO_I2C_MSG_ERR));
    q.set_features(VIRTIO_F_VERSION_1).unwrap();
    assert_eq!(legacy_read(&q, 2), Some(VIRTIO_I2C_MSG_OK));
    q.set_features(DEVICE_FEATURES).unwrap();
    assert_eq!(legacy_read(&q, 3), Some(VIRTIO_I2C_MSG_ERR));
    // QEMU's reset sets the features to 0: the protocol as first merged.
    q.set_features(0).unwrap();
    assert_eq!(legacy_read(&q, 4), Some(VIRTIO_I2C_MSG_OK));
}
