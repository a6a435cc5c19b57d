// SPDX-License-Identifier: GPL-2.0-or-later
//! The request queue: the virtio-i2c device's one request path.
//!
//! A request is entered once ([`RequestQueue::push`], with its
//! device-readable buffers) and left once ([`RequestQueue::complete`],
//! which writes its result into its device-writable buffers and hands its
//! element back with the used length). In between:
//!
//! ```text
//! push ── parse (request.rs) ── group (group.rs) ──> job queue ──> execute ──> results
//!                                                     (bounded)      │            │
//!                                        the caller's thread (inline) │            │
//!                                        or the worker thread ────────┘            │
//! complete <── write-back (response.rs) <── results in submission order ───────────┘
//! ```
//!
//! There is one execution path, `execute`: it runs the oldest job on the
//! executor (validation, address policy, one transfer). Who calls it is the
//! only difference between the two kinds of adapter:
//! - an adapter that never blocks (QEMU's emulated bus, whose device models
//!   must run under QEMU's big lock) is run inline, by the thread that
//!   pushed the request, before `push` returns;
//! - an adapter whose transfers may block (Linux i2c-dev) is run by one
//!   worker thread that the queue owns, one group at a time, in order; the
//!   `notify` callback tells the transport that results are ready, and the
//!   transport calls `complete` from its own thread.
//!
//! Guest memory never reaches the worker: requests are parsed into bounce
//! buffers by `push`, and results are written back by `complete`. Elements
//! (the transport's handle of a request, QEMU's virtqueue element) stay on
//! the transport's side too.
//!
//! What the guest controls, and what it costs:
//! - requests outstanding: at most `max_outstanding` (the virtqueue size; a
//!   push past it is refused), each holding at most one 8 KiB buffer;
//! - a reset (device or queue reset, unplug) drops every request not
//!   completed and every group not started: none of them reaches the host
//!   afterwards. Only the group already inside a host transfer finishes
//!   there; its result is discarded. A reset loop therefore neither queues
//!   host work nor grows memory;
//! - dropping the queue (unplug) does not wait for the worker: it drops the
//!   queued groups, stops `notify` (waiting at most for a `notify` call in
//!   progress), and lets the worker end on its own after the transfer it is
//!   in, if any. The worker owns the adapter until then, so a host address
//!   stays claimed for at most that one transfer (bounded by the adapter's
//!   timeout).
//!
//! Locks: the state (grouping, submitted elements, the job queue, results)
//! and the runner (the executor, held while a group runs). The worker takes
//! the runner first and the state only briefly around a run, so `push`,
//! `complete` and `reset` never wait for a host transfer. An inline queue
//! runs groups with both held (state first): it has no worker to contend
//! with, and its transfers run under QEMU's big lock anyway.

use std::{
    collections::VecDeque,
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread,
};

use super::{
    check_features, Protocol, DEVICE_FEATURES,
    group::{Executor, GroupError, Grouper, Job},
    request::{self, Request, RequestError},
    response::{self, Outcome},
    sg::Sg,
    FeatureError,
};
use crate::{
    capture::Tap,
    host::{linux::SignalsBlocked, I2cAdapter},
    policy::Policy,
};

/// Called on the worker thread when results are ready.
pub type Notify = Box<dyn Fn() + Send + Sync>;

/// A request as the transport holds it: its device-writable buffers.
pub trait Element: Send {
    /// Length of the device-writable part (read data and status byte).
    fn writable_len(&self) -> usize;

    /// Runs `f` over the device-writable part.
    fn with_writable<R>(&self, f: impl FnOnce(&Sg<'_, '_>) -> R) -> R;
}

/// Where groups run.
pub enum Execution {
    /// On the thread that pushes the request that completes a group.
    Inline,
    /// On a worker thread owned by the queue; `notify` is called there
    /// after each group.
    Worker(Notify),
}

/// Errors of [`RequestQueue::new`].
#[derive(Debug, thiserror::Error)]
#[error("cannot start the I2C worker thread")]
pub struct SpawnError(#[source] pub std::io::Error);

/// A request [`RequestQueue::push`] did not accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{outstanding} requests are outstanding already, as many as the queue has entries")]
pub struct QueueFull {
    /// Requests outstanding.
    pub outstanding: usize,
}

/// A group submitted and not yet completed: its elements, oldest first.
struct Submitted<E> {
    seq: u64,
    elements: Vec<E>,
}

/// Most spare buffers kept of each kind.
const SPARES: usize = 8;

/// Everything but the executor, under one lock.
struct State<E> {
    grouper: Grouper<E>,
    /// Groups submitted and not completed, oldest first.
    submitted: VecDeque<Submitted<E>>,
    next_seq: u64,
    /// Groups waiting to run, oldest first.
    jobs: VecDeque<(u64, Job)>,
    /// Results not yet collected, in the order the groups ran.
    results: VecDeque<(u64, Vec<Outcome>, Option<GroupError>)>,
    /// Counts resets; a result of an older generation is dropped.
    generation: u64,
    /// The queue was dropped: the worker ends.
    closed: bool,
    /// Requests accepted and not completed or reset.
    outstanding: usize,
    /// The protocol the driver speaks (from the features it accepted; the
    /// current one until a driver negotiates).
    protocol: Protocol,
    /// Emptied buffers, reused so that the request path does not allocate.
    spare_elements: Vec<Vec<E>>,
    spare_requests: Vec<Vec<Result<Request, RequestError>>>,
    spare_outcomes: Vec<Vec<Outcome>>,
}

fn recycle<T>(spares: &mut Vec<Vec<T>>, mut v: Vec<T>) {
    if spares.len() < SPARES {
        v.clear();
        spares.push(v);
    }
}

struct Runner<A> {
    exec: Executor<A>,
    /// The generation of the last job run.
    generation: u64,
}

struct Shared<E, A> {
    state: Mutex<State<E>>,
    /// Wakes the worker when a job is queued or the queue closes.
    wake: Condvar,
    /// Held while a group runs: one group at a time, in order.
    runner: Mutex<Runner<A>>,
    /// The worker's `notify`; taken away when the queue is dropped, under
    /// this lock, so it is never called after the drop returns.
    notify: Mutex<Option<Notify>>,
}

/// The request queue; `E` is the transport's element.
pub struct RequestQueue<E, A: I2cAdapter + 'static> {
    shared: Arc<Shared<E, A>>,
    /// Whether a worker runs the groups (else they run inline).
    worker: bool,
    require_zero_length: bool,
    max_outstanding: usize,
}

fn lock<X>(m: &Mutex<X>) -> MutexGuard<'_, X> {
    // A panic while holding a lock is caught at the C boundary; the state
    // is consistent between statements, so keep serving.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A job taken off the queue, with what its run needs.
struct Taken {
    seq: u64,
    generation: u64,
    job: Job,
    outcomes: Vec<Outcome>,
}

impl<E> State<E> {
    /// Takes the oldest job, if any.
    fn take(&mut self) -> Option<Taken> {
        let (seq, job) = self.jobs.pop_front()?;
        Some(Taken {
            seq,
            generation: self.generation,
            job,
            outcomes: self.spare_outcomes.pop().unwrap_or_default(),
        })
    }

    /// Stores the result of a job `take` handed out, unless a reset came
    /// meanwhile.
    fn store(&mut self, t: Taken, error: Option<GroupError>) {
        recycle(&mut self.spare_requests, t.job.requests);
        if self.generation == t.generation {
            self.results.push_back((t.seq, t.outcomes, error));
        }
    }
}

/// The one execution path: runs a job on the executor (validation,
/// address policy, one transfer) and returns why its group failed, if it
/// did. The outcomes land in `t.outcomes`.
fn execute<A: I2cAdapter>(runner: &mut Runner<A>, t: &mut Taken) -> Option<GroupError> {
    if runner.generation != t.generation {
        // A reset came between the last group and this one: a failed
        // partial group before it does not fail this one.
        runner.exec.reset();
        runner.generation = t.generation;
    }
    let n = t.job.requests.len();
    let (exec, job, outcomes) = (&mut runner.exec, &mut t.job, &mut t.outcomes);
    let ran = catch_unwind(AssertUnwindSafe(|| {
        exec.run_into(job.requests.drain(..), job.ends_open, outcomes)
    }));
    match ran {
        Ok(e) => e,
        Err(_) => {
            // A panic in an adapter must not strand the group (the guest
            // waits for every request).
            runner.exec.reset();
            t.outcomes.clear();
            t.outcomes.resize(n, Outcome::Err);
            Some(GroupError::Internal)
        }
    }
}

impl<E: Element + 'static, A: I2cAdapter + 'static> RequestQueue<E, A> {
    /// A queue running groups on `adapter` under `policy`, accepting at
    /// most `max_outstanding` requests at a time (the virtqueue size).
    /// `require_zero_length` refuses drivers that do not negotiate
    /// `VIRTIO_I2C_F_ZERO_LENGTH_REQUEST` ([`check_features`]).
    pub fn new(
        adapter: A,
        policy: Policy,
        require_zero_length: bool,
        max_outstanding: usize,
        execution: Execution,
    ) -> Result<Self, SpawnError> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                grouper: Grouper::default(),
                submitted: VecDeque::new(),
                next_seq: 0,
                jobs: VecDeque::new(),
                results: VecDeque::new(),
                generation: 0,
                closed: false,
                outstanding: 0,
                protocol: Protocol::of(DEVICE_FEATURES),
                spare_elements: Vec::new(),
                spare_requests: Vec::new(),
                spare_outcomes: Vec::new(),
            }),
            wake: Condvar::new(),
            runner: Mutex::new(Runner {
                exec: Executor::new(adapter, policy),
                generation: 0,
            }),
            notify: Mutex::new(None),
        });
        let worker = match execution {
            Execution::Inline => false,
            Execution::Worker(notify) => {
                *lock(&shared.notify) = Some(notify);
                spawn_worker(Arc::clone(&shared))?;
                true
            }
        };
        Ok(Self {
            shared,
            worker,
            require_zero_length,
            max_outstanding,
        })
    }

    /// Records every group from now on into `tap` (`None`: stops); see
    /// [`crate::virtio::group::Executor::set_capture`].
    pub fn set_capture(&self, tap: Option<Tap>) {
        lock(&self.shared.runner).exec.set_capture(tap);
    }

    /// Checks the features the driver accepted, and speaks its protocol
    /// from now on; a refused driver's requests all fail until features
    /// are set again.
    pub fn set_features(&self, features: u64) -> Result<(), FeatureError> {
        let checked = check_features(features, self.require_zero_length);
        lock(&self.shared.state).protocol = match checked {
            Ok(()) => Protocol::of(features),
            Err(_) => Protocol::Refused,
        };
        checked
    }

    /// Accepts one request: `readable` is its device-readable part, `elem`
    /// holds its device-writable part. The request is parsed now; a group
    /// it completes is run (inline) or queued (worker). Refused, and `elem`
    /// given back, when as many requests are outstanding as the queue has
    /// entries.
    pub fn push(&self, elem: E, readable: &Sg<'_, '_>) -> Result<(), (E, QueueFull)> {
        let mut st = lock(&self.shared.state);
        if st.outstanding >= self.max_outstanding {
            let outstanding = st.outstanding;
            return Err((elem, QueueFull { outstanding }));
        }
        let parsed = request::parse(readable, elem.writable_len(), st.protocol);
        st.outstanding += 1;
        if st.grouper.push(elem, parsed) {
            self.submit(st, false);
        }
        Ok(())
    }

    /// Ends a batch of available requests: an open group runs as it stands
    /// (see [`crate::virtio::group`]).
    pub fn flush(&self) {
        let st = lock(&self.shared.state);
        if st.grouper.pending() > 0 {
            self.submit(st, true);
        }
    }

    fn submit(&self, mut st: MutexGuard<'_, State<E>>, ends_open: bool) {
        let st = &mut *st;
        let elements = st.spare_elements.pop().unwrap_or_default();
        let requests = st.spare_requests.pop().unwrap_or_default();
        let batch = st.grouper.take(ends_open, elements, requests);
        let seq = st.next_seq;
        st.next_seq += 1;
        st.submitted.push_back(Submitted {
            seq,
            elements: batch.tokens,
        });
        st.jobs.push_back((seq, batch.job));
        if self.worker {
            self.shared.wake.notify_one();
            return;
        }
        // Inline: run it now, on this thread. The runner is taken with the
        // state held; an inline queue has no worker, which takes them the
        // other way round, so this cannot deadlock.
        let mut runner = lock(&self.shared.runner);
        while let Some(mut t) = st.take() {
            let error = execute(&mut runner, &mut t);
            st.store(t, error);
        }
    }

    /// Completes every request whose result is ready, in submission order:
    /// writes its result into its device-writable part, then calls
    /// `done(element, used_len)`; each failed group is passed to `failed`
    /// first. Returns the number of requests completed.
    ///
    /// Both callbacks run with the queue locked: they must not call into
    /// it (collect what they get, and act on it after `complete`).
    #[cfg(any(test, feature = "test-utils"))]
    pub fn complete(&self, done: impl FnMut(E, u32), failed: impl FnMut(&GroupError)) -> usize {
        self.complete_some(usize::MAX, done, failed)
    }

    /// [`Self::complete`], for at most `cap` requests; the rest stay ready
    /// for the next call.
    pub fn complete_some(
        &self,
        cap: usize,
        mut done: impl FnMut(E, u32),
        mut failed: impl FnMut(&GroupError),
    ) -> usize {
        let mut st = lock(&self.shared.state);
        let st = &mut *st;
        let mut n = 0;
        while n < cap {
            let Some((seq, outcomes, error)) = st.results.front_mut() else {
                break;
            };
            let Some(sub) = st.submitted.front_mut().filter(|s| s.seq == *seq) else {
                // A result without its group: the group was dropped by a
                // reset.
                st.results.pop_front();
                continue;
            };
            if let Some(e) = error.take() {
                failed(&e);
            }
            let k = (cap - n).min(sub.elements.len());
            let mut results = outcomes.drain(..k.min(outcomes.len()));
            for elem in sub.elements.drain(..k) {
                let outcome = results.next().unwrap_or(Outcome::Err);
                let used = elem.with_writable(|w| response::write(w, &outcome));
                done(elem, used);
            }
            drop(results);
            n += k;
            st.outstanding -= k;
            if sub.elements.is_empty() {
                if let (Some(sub), Some((_, outcomes, _))) =
                    (st.submitted.pop_front(), st.results.pop_front())
                {
                    recycle(&mut st.spare_elements, sub.elements);
                    recycle(&mut st.spare_outcomes, outcomes);
                }
            }
        }
        n
    }

    /// Drops every request not completed and returns its element, oldest
    /// first. No group queued before the reset reaches the host after it;
    /// a group already running on the host finishes there (a transfer
    /// cannot be stopped halfway), but its result is discarded.
    pub fn reset(&self) -> Vec<E> {
        let mut st = lock(&self.shared.state);
        reset_state(&mut st)
    }

    /// Number of requests accepted and not yet completed.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn outstanding(&self) -> usize {
        lock(&self.shared.state).outstanding
    }
}

/// Drops every request and queued group; returns the requests' elements.
fn reset_state<E>(st: &mut State<E>) -> Vec<E> {
    st.generation += 1;
    st.results.clear();
    while let Some((_, job)) = st.jobs.pop_front() {
        recycle(&mut st.spare_requests, job.requests);
    }
    let mut elements: Vec<E> = st.submitted.drain(..).flat_map(|s| s.elements).collect();
    elements.extend(st.grouper.clear());
    st.outstanding = 0;
    elements
}

/// Starts the worker thread, with every signal blocked from its first
/// instruction (signals belong to the process's own threads). It is not
/// joined: it ends by itself once the queue is dropped and the transfer it
/// may be in has ended.
fn spawn_worker<E: Send + 'static, A: I2cAdapter + 'static>(
    shared: Arc<Shared<E, A>>,
) -> Result<(), SpawnError> {
    let blocked = SignalsBlocked::new().map_err(SpawnError)?;
    let spawned = thread::Builder::new()
        .name("vi2c-worker".into())
        .spawn(move || loop {
            {
                let mut st = lock(&shared.state);
                while st.jobs.is_empty() && !st.closed {
                    st = shared.wake.wait(st).unwrap_or_else(|p| p.into_inner());
                }
                if st.closed {
                    return;
                }
            }
            let mut runner = lock(&shared.runner);
            let Some(mut t) = lock(&shared.state).take() else {
                continue;
            };
            let error = execute(&mut runner, &mut t);
            lock(&shared.state).store(t, error);
            drop(runner);
            if let Some(notify) = &*lock(&shared.notify) {
                notify();
            }
        });
    drop(blocked);
    spawned.map(drop).map_err(SpawnError)
}

impl<E, A: I2cAdapter + 'static> Drop for RequestQueue<E, A> {
    fn drop(&mut self) {
        // After this, notify is never called again: the worker calls it
        // under this lock.
        drop(lock(&self.shared.notify).take());
        {
            let mut st = lock(&self.shared.state);
            drop(reset_state(&mut st));
            st.closed = true;
        }
        self.shared.wake.notify_all();
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
