// SPDX-License-Identifier: GPL-2.0-or-later
//! The device engine: moves requests from the transport to the executor and
//! results back, in order.
//!
//! Two execution modes:
//! - **inline**: a complete group runs inside [`Engine::push`] or
//!   [`Engine::flush`], on the caller's thread. QEMU uses it for its own
//!   emulated I2C bus, whose device models must run under QEMU's big lock.
//! - **worker**: groups run on one worker thread owned by the engine, one
//!   at a time, in submission order. When a result is ready, the `notify`
//!   callback runs on the worker thread; the transport then calls
//!   [`Engine::complete`] from its own thread (QEMU: a bottom half, with the
//!   big lock held) to collect results. QEMU uses it for host adapters,
//!   whose ioctls may block for a long time and must not hold its big lock.
//!
//! Guest memory never reaches the worker: requests are parsed into bounce
//! buffers by the caller of `push`, and responses are written by the caller
//! of `complete`. A transport token (QEMU: the virtqueue element) stays on
//! the caller's side too.
//!
//! Ordering: groups get sequence numbers under the engine lock, and the
//! worker runs them in that order, so completions come out in submission
//! order even when several threads push concurrently.
//!
//! Reset: [`Engine::reset`] returns every token not yet completed (the open
//! group, queued and running groups, results not collected) and forgets a
//! failed partial group. A group already running finishes on the host bus
//! (a transfer cannot be cancelled halfway), but its result is dropped.

use std::{
    collections::VecDeque,
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{mpsc, Arc, Mutex, MutexGuard},
    thread,
};

use crate::{
    host::{linux::SignalsBlocked, I2cAdapter},
    policy::Policy,
    virtio::{
        group::{Executor, GroupError, Grouper, Job, JobResult},
        request::Parsed,
        response::Outcome,
    },
};

/// Called on the worker thread when results are ready.
pub type Notify = Box<dyn Fn() + Send + Sync>;

/// One completed request.
#[derive(Debug)]
pub struct Completion<T> {
    /// The transport's token.
    pub token: T,
    /// What to report.
    pub outcome: Outcome,
}

/// What [`Engine::complete`] collected.
#[derive(Debug)]
pub struct Collected<T> {
    /// Completed requests, in submission order.
    pub completions: Vec<Completion<T>>,
    /// Why groups failed, for the log.
    pub errors: Vec<GroupError>,
}

type Results = Arc<Mutex<VecDeque<(u64, JobResult)>>>;

enum Command {
    Run(u64, Job),
    Reset,
}

enum Mode<A> {
    Inline {
        exec: Box<Executor<A>>,
        /// Reused between groups.
        outcomes: Vec<Outcome>,
    },
    Worker {
        /// `None` once the engine is being dropped.
        tx: Option<mpsc::Sender<Command>>,
        thread: Option<thread::JoinHandle<()>>,
        /// Groups on the worker, oldest first: sequence number and size.
        inflight: VecDeque<(u64, usize)>,
    },
}

struct State<T, A> {
    grouper: Grouper<T>,
    /// Tokens of groups on the worker, in submission order.
    running: VecDeque<T>,
    /// Completed requests not yet collected, in submission order.
    done: VecDeque<Completion<T>>,
    errors: Vec<GroupError>,
    next_seq: u64,
    mode: Mode<A>,
}

/// Errors of [`Engine::worker`].
#[derive(Debug, thiserror::Error)]
#[error("cannot start the I2C worker thread")]
pub struct SpawnError(#[source] pub std::io::Error);

/// The engine; `T` is the transport's per-request token.
pub struct Engine<T, A: I2cAdapter + 'static> {
    state: Mutex<State<T, A>>,
    results: Results,
}

fn lock<X>(m: &Mutex<X>) -> MutexGuard<'_, X> {
    // A panic while holding the lock is caught at the C boundary; the state
    // stays consistent between statements, so keep serving.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<T, A: I2cAdapter + 'static> Engine<T, A> {
    /// An engine running groups inline.
    pub fn inline(adapter: A, policy: Policy) -> Self {
        Self::with_mode(
            Mode::Inline {
                exec: Box::new(Executor::new(adapter, policy)),
                outcomes: Vec::new(),
            },
            Results::default(),
        )
    }

    /// An engine running groups on a worker thread; `notify` is called there
    /// after each group. The thread starts with every signal blocked (they
    /// belong to the process's own threads), as QEMU's own threads do.
    pub fn worker(adapter: A, policy: Policy, notify: Notify) -> Result<Self, SpawnError> {
        let results = Results::default();
        let (tx, rx) = mpsc::channel::<Command>();
        let out = Arc::clone(&results);
        let mut exec = Executor::new(adapter, policy);
        let blocked = SignalsBlocked::new().map_err(SpawnError)?;
        let thread = thread::Builder::new()
            .name("vi2c-worker".into())
            .spawn(move || {
                while let Ok(cmd) = rx.recv() {
                    match cmd {
                        Command::Run(seq, job) => {
                            let n = job.requests.len();
                            // A panic in an adapter must not strand the
                            // group (the guest waits for every request).
                            let r = catch_unwind(AssertUnwindSafe(|| exec.run(job)))
                                .unwrap_or_else(|_| {
                                    exec.reset();
                                    JobResult {
                                        outcomes: vec![Outcome::Err; n],
                                        error: Some(GroupError::Internal),
                                    }
                                });
                            lock(&out).push_back((seq, r));
                            notify();
                        }
                        Command::Reset => exec.reset(),
                    }
                }
            })
            .map_err(SpawnError)?;
        drop(blocked);
        Ok(Self::with_mode(
            Mode::Worker {
                tx: Some(tx),
                thread: Some(thread),
                inflight: VecDeque::new(),
            },
            results,
        ))
    }

    fn with_mode(mode: Mode<A>, results: Results) -> Self {
        Self {
            state: Mutex::new(State {
                grouper: Grouper::default(),
                running: VecDeque::new(),
                done: VecDeque::new(),
                errors: Vec::new(),
                next_seq: 0,
                mode,
            }),
            results,
        }
    }

    /// Adds a parsed request; a complete group is run (inline) or queued
    /// (worker).
    pub fn push(&self, token: T, parsed: Parsed) {
        let mut st = lock(&self.state);
        if st.grouper.push(token, parsed) {
            Self::submit(&mut st, false);
        }
    }

    /// Ends a batch of available requests: an open group runs as it stands
    /// (see [`crate::virtio::group`]).
    pub fn flush(&self) {
        let mut st = lock(&self.state);
        if st.grouper.pending() > 0 {
            Self::submit(&mut st, true);
        }
    }

    fn submit(st: &mut State<T, A>, ends_open: bool) {
        let State {
            grouper,
            running,
            done,
            errors,
            next_seq,
            mode,
        } = st;
        match mode {
            Mode::Inline { exec, outcomes } => {
                let (tokens, requests) = grouper.parts();
                let n = tokens.len();
                let ran = catch_unwind(AssertUnwindSafe(|| {
                    exec.run_into(requests.drain(..), ends_open, outcomes)
                }));
                match ran {
                    Ok(e) => errors.extend(e),
                    Err(_) => {
                        // A panic in an adapter must not strand the group.
                        requests.clear();
                        exec.reset();
                        outcomes.clear();
                        outcomes.resize(n, Outcome::Err);
                        errors.push(GroupError::Internal);
                    }
                }
                done.extend(
                    tokens
                        .drain(..)
                        .zip(outcomes.drain(..))
                        .map(|(token, outcome)| Completion { token, outcome }),
                );
            }
            Mode::Worker { tx, inflight, .. } => {
                let batch = grouper.take(ends_open);
                let n = batch.tokens.len();
                let seq = *next_seq;
                *next_seq += 1;
                let sent = tx
                    .as_ref()
                    .is_some_and(|tx| tx.send(Command::Run(seq, batch.job)).is_ok());
                if sent {
                    running.extend(batch.tokens);
                    inflight.push_back((seq, n));
                } else {
                    // The worker is gone (it only ends when the engine is
                    // dropped); fail the group rather than lose it.
                    errors.push(GroupError::Internal);
                    done.extend(batch.tokens.into_iter().map(|token| Completion {
                        token,
                        outcome: Outcome::Err,
                    }));
                }
            }
        }
    }

    /// Moves results the worker finished into `done`, in order.
    fn gather(&self, st: &mut State<T, A>) {
        let Mode::Worker { inflight, .. } = &mut st.mode else {
            return;
        };
        let ready: Vec<(u64, JobResult)> = lock(&self.results).drain(..).collect();
        for (seq, result) in ready {
            // Results come in submission order; one that is not for the
            // oldest submitted group belongs to a group a reset dropped.
            let Some(&(s, n)) = inflight.front() else {
                continue;
            };
            if s != seq {
                continue;
            }
            inflight.pop_front();
            let mut outcomes = result.outcomes.into_iter();
            for _ in 0..n {
                let Some(token) = st.running.pop_front() else {
                    break;
                };
                let outcome = outcomes.next().unwrap_or(Outcome::Err);
                st.done.push_back(Completion { token, outcome });
            }
            st.errors.extend(result.error);
        }
    }

    /// Collects the results that are ready, in submission order.
    pub fn complete(&self) -> Collected<T> {
        let mut c = Collected {
            completions: Vec::new(),
            errors: Vec::new(),
        };
        self.complete_into(&mut c);
        c
    }

    /// Like [`Self::complete`], appending to `out` (whose allocations the
    /// caller can reuse).
    pub fn complete_into(&self, out: &mut Collected<T>) {
        let mut st = lock(&self.state);
        self.gather(&mut st);
        out.completions.extend(st.done.drain(..));
        out.errors.append(&mut st.errors);
    }

    /// Drops everything not completed and returns its tokens, oldest first.
    pub fn reset(&self) -> Vec<T> {
        let mut st = lock(&self.state);
        lock(&self.results).clear();
        let mut tokens: Vec<T> = st.done.drain(..).map(|c| c.token).collect();
        tokens.extend(st.running.drain(..));
        tokens.extend(st.grouper.clear());
        st.errors.clear();
        match &mut st.mode {
            Mode::Inline { exec, .. } => exec.reset(),
            Mode::Worker { tx, inflight, .. } => {
                inflight.clear();
                if let Some(tx) = tx {
                    let _ = tx.send(Command::Reset);
                }
            }
        }
        tokens
    }

    /// Number of requests accepted and not yet collected.
    pub fn outstanding(&self) -> usize {
        let st = lock(&self.state);
        st.grouper.pending() + st.running.len() + st.done.len()
    }
}

impl<T, A: I2cAdapter + 'static> Drop for Engine<T, A> {
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Mode::Worker { tx, thread, .. } = &mut st.mode {
            // Closing the channel ends the worker once the queue is empty.
            drop(tx.take());
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{atomic::AtomicUsize, atomic::Ordering, Condvar},
        time::Duration,
    };

    use super::*;
    use crate::{
        host::sim::SimAdapter,
        i2c::{Address, Msg, Transfer},
    };

    fn read(addr: u8, fail_next: bool) -> Parsed {
        Parsed {
            fail_next,
            in_len: 2,
            request: Ok(Msg::read(Address::seven(addr).unwrap(), 1).unwrap()),
        }
    }

    fn sim() -> SimAdapter {
        SimAdapter::from_spec("regs@0x48").unwrap()
    }

    #[test]
    fn inline_runs_at_group_end() {
        let e = Engine::inline(sim(), Policy::AllowAll7Bit);
        e.push(1, read(0x48, true));
        assert!(e.complete().completions.is_empty());
        e.push(2, read(0x48, false));
        let c = e.complete();
        let toks: Vec<_> = c.completions.iter().map(|c| c.token).collect();
        assert_eq!(toks, vec![1, 2]);
        assert!(c.errors.is_empty());
        assert_eq!(e.outstanding(), 0);
    }

    #[test]
    fn flush_runs_a_partial_group() {
        let e = Engine::inline(sim(), Policy::AllowAll7Bit);
        e.push(1, read(0x49, true));
        e.flush();
        let c = e.complete();
        assert_eq!(c.completions.len(), 1);
        assert_eq!(c.completions[0].outcome, Outcome::Err);
        assert!(c.errors[0].is_nack());
        e.push(2, read(0x48, false));
        let c = e.complete();
        assert_eq!(c.errors, vec![GroupError::PreviousPartFailed]);
    }

    struct Waiter {
        n: Mutex<usize>,
        cv: Condvar,
    }

    fn worker_engine(sim: SimAdapter) -> (Engine<u64, SimAdapter>, Arc<Waiter>) {
        let w = Arc::new(Waiter {
            n: Mutex::new(0),
            cv: Condvar::new(),
        });
        let w2 = Arc::clone(&w);
        let e = Engine::worker(
            sim,
            Policy::AllowAll7Bit,
            Box::new(move || {
                *w2.n.lock().unwrap() += 1;
                w2.cv.notify_all();
            }),
        )
        .unwrap();
        (e, w)
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
        let (e, w) = worker_engine(sim());
        let e = Arc::new(e);
        const THREADS: u64 = 4;
        const PER: u64 = 250;
        const TOTAL: usize = 1000;
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let e = Arc::clone(&e);
                thread::spawn(move || {
                    for i in 0..PER {
                        e.push(t * 10_000 + i, read(0x48, false));
                        if i % 16 == 0 {
                            // Collecting while others submit must not lose
                            // or reorder anything either.
                            let _ = e.outstanding();
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        wait_for(&w, TOTAL);
        let c = e.complete();
        assert_eq!(c.completions.len(), TOTAL);
        assert!(c.errors.is_empty());
        // Per submitting thread, tokens come back in the order pushed.
        for t in 0..THREADS {
            let mine: Vec<u64> = c
                .completions
                .iter()
                .map(|c| c.token)
                .filter(|k| k / 10_000 == t)
                .collect();
            let mut sorted = mine.clone();
            sorted.sort_unstable();
            assert_eq!(mine, sorted);
            assert_eq!(mine.len() as u64, PER);
        }
        assert_eq!(e.outstanding(), 0);
    }

    #[test]
    fn worker_collects_only_ready_results() {
        let (e, w) = worker_engine(sim());
        e.push(1, read(0x48, true));
        e.push(2, read(0x48, false));
        e.push(3, read(0x47, false));
        wait_for(&w, 2);
        let c = e.complete();
        let toks: Vec<_> = c.completions.iter().map(|c| c.token).collect();
        assert_eq!(toks, vec![1, 2, 3]);
        assert_eq!(c.completions[2].outcome, Outcome::Err);
        assert_eq!(c.errors.len(), 1);
        assert!(e.complete().completions.is_empty());
    }

    #[test]
    fn reset_returns_every_outstanding_token_and_drops_stale_results() {
        let (e, w) = worker_engine(sim());
        e.push(1, read(0x48, false));
        e.push(2, read(0x48, true));
        wait_for(&w, 1);
        let mut toks = e.reset();
        toks.sort_unstable();
        assert_eq!(toks, vec![1, 2]);
        assert_eq!(e.outstanding(), 0);
        assert!(e.complete().completions.is_empty());
        e.push(3, read(0x48, false));
        wait_for(&w, 2);
        let c = e.complete();
        assert_eq!(c.completions.len(), 1);
        assert_eq!(c.completions[0].token, 3);
    }

    /// An adapter that panics on every transfer.
    struct Panicky;
    impl I2cAdapter for Panicky {
        fn funcs(&self) -> crate::i2c::Funcs {
            crate::i2c::Funcs(crate::i2c::Funcs::I2C)
        }
        fn rdwr(&mut self, _: &mut Transfer) -> Result<(), crate::host::Failure> {
            panic!("adapter bug")
        }
        fn smbus(
            &mut self,
            _: Address,
            _: &mut crate::host::SmbusXfer,
        ) -> Result<(), crate::host::HostError> {
            panic!("adapter bug")
        }
        fn name(&self) -> String {
            "panicky".into()
        }
    }

    #[test]
    fn a_panicking_adapter_fails_the_group_and_the_worker_goes_on() {
        let w = Arc::new(Waiter {
            n: Mutex::new(0),
            cv: Condvar::new(),
        });
        let w2 = Arc::clone(&w);
        let e: Engine<u64, Panicky> = Engine::worker(
            Panicky,
            Policy::AllowAll7Bit,
            Box::new(move || {
                *w2.n.lock().unwrap() += 1;
                w2.cv.notify_all();
            }),
        )
        .unwrap();
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        e.push(1, read(0x48, false));
        e.push(2, read(0x48, false));
        wait_for(&w, 2);
        std::panic::set_hook(prev);
        let c = e.complete();
        assert_eq!(c.completions.len(), 2);
        assert!(c.completions.iter().all(|c| c.outcome == Outcome::Err));
        assert_eq!(c.errors, vec![GroupError::Internal, GroupError::Internal]);
    }

    #[test]
    fn a_panicking_adapter_inline_fails_the_group() {
        let e: Engine<u64, Panicky> = Engine::inline(Panicky, Policy::AllowAll7Bit);
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        e.push(1, read(0x48, true));
        e.push(2, read(0x48, false));
        e.push(3, read(0x48, false));
        std::panic::set_hook(prev);
        let c = e.complete();
        let toks: Vec<_> = c.completions.iter().map(|c| c.token).collect();
        assert_eq!(toks, vec![1, 2, 3]);
        assert!(c.completions.iter().all(|c| c.outcome == Outcome::Err));
        assert_eq!(e.outstanding(), 0);
    }

    #[test]
    fn drop_joins_a_busy_worker() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c2 = Arc::clone(&calls);
        let e: Engine<u64, SimAdapter> = Engine::worker(
            sim(),
            Policy::AllowAll7Bit,
            Box::new(move || {
                c2.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
        for i in 0..50 {
            e.push(i, read(0x48, false));
        }
        drop(e);
        // Everything queued before the drop ran before the join returned.
        assert_eq!(calls.load(Ordering::SeqCst), 50);
    }
}
