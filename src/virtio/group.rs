// SPDX-License-Identifier: GPL-2.0-or-later
//! Grouping requests by `VIRTIO_I2C_FLAGS_FAIL_NEXT` and running each group
//! as one transfer.
//!
//! # Source
//! virtio 1.2 §5.16.6: "VIRTIO_I2C_FLAGS_FAIL_NEXT is used to group the
//! requests. For a group of requests, a driver clears this bit on the last
//! request and sets it on the other requests. If this bit is set and a
//! device fails to process the current request, it needs to fail the next
//! request instead of attempting to execute it." "The device MUST process
//! the requests in the order they are received." "A device MUST set the
//! status of the first failed request to be VIRTIO_I2C_MSG_ERR."
//!
//! A group is the unit of one I2C transfer (START, repeated STARTs, STOP).
//! Outcomes:
//! - the group fails validation (a malformed request, more than 42
//!   messages, an address the policy does not allow): nothing reaches the
//!   bus and every request of the group gets ERR, since none was executed;
//! - the transfer fails: requests the adapter reports complete get OK, the
//!   first failing one and every later one get ERR (i2c-dev cannot tell
//!   which message failed, so there all of them get ERR);
//! - the transfer succeeds: every request gets OK.
//!
//! A batch of available requests that ends inside a group (the last
//! request has FAIL_NEXT) is run as it stands, as a "partial" group: a
//! driver may wait for those completions before queueing the rest (Zephyr's
//! driver splits long transfers so). The rest then runs as a further
//! transfer, and fails outright if the partial one failed, as FAIL_NEXT
//! demands. Between the two parts the bus sees a STOP: i2c-dev cannot keep
//! a transfer open across calls.

use std::time::SystemTime;

use super::{
    record,
    request::{Parsed, Request, RequestError},
    response::Outcome,
};
use crate::{
    capture::Tap,
    host::{self, HostError, I2cAdapter},
    i2c::{check_msg_count, Address, LimitError, Msg, Transfer, MAX_MSGS},
    policy::{refused_by_read_only, Policy, ReadOnly},
};

/// Collects parsed requests into groups.
#[derive(Debug)]
pub struct Grouper<T> {
    tokens: Vec<T>,
    requests: Vec<Result<Request, RequestError>>,
}

impl<T> Default for Grouper<T> {
    fn default() -> Self {
        Self {
            tokens: Vec::new(),
            requests: Vec::new(),
        }
    }
}

/// A group ready to run: the caller's tokens (one per request, in order)
/// and the job for the executor.
#[derive(Debug)]
pub struct Batch<T> {
    /// One token per request.
    pub tokens: Vec<T>,
    /// What the executor runs.
    pub job: Job,
}

/// The requests of one group, detached from guest memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The requests, valid or not.
    pub requests: Vec<Result<Request, RequestError>>,
    /// The last request has FAIL_NEXT: the group continues in a later job.
    pub ends_open: bool,
}

impl<T> Grouper<T> {
    /// Adds one request; returns `true` when it closes its group (no
    /// FAIL_NEXT), which is then ready in [`Self::take`].
    pub fn push(&mut self, token: T, parsed: Parsed) -> bool {
        self.tokens.push(token);
        self.requests.push(parsed.request);
        !parsed.fail_next
    }

    /// Moves the open group out; the next group collects into `tokens`
    /// and `requests` (empty vectors whose allocations are reused).
    pub fn take(
        &mut self,
        ends_open: bool,
        tokens: Vec<T>,
        requests: Vec<Result<Request, RequestError>>,
    ) -> Batch<T> {
        Batch {
            tokens: std::mem::replace(&mut self.tokens, tokens),
            job: Job {
                requests: std::mem::replace(&mut self.requests, requests),
                ends_open,
            },
        }
    }

    /// Drops the open group, returning its tokens (device reset).
    pub fn clear(&mut self) -> Vec<T> {
        self.requests.clear();
        std::mem::take(&mut self.tokens)
    }

    /// Number of requests in the open group.
    pub fn pending(&self) -> usize {
        self.tokens.len()
    }
}

/// Why a group failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// A request of the group is malformed.
    #[error("request {index} of the group is malformed")]
    Malformed {
        /// Its index in the group.
        index: usize,
        /// What is wrong.
        #[source]
        source: RequestError,
    },
    /// More messages than one transfer may carry.
    #[error("group of {count} requests exceeds {MAX_MSGS}")]
    TooMany {
        /// Its length.
        count: usize,
    },
    /// A request targets an address the policy does not allow.
    #[error("request {index} targets {addr}, which is not allowed")]
    NotAllowed {
        /// Its index in the group.
        index: usize,
        /// The guest address.
        addr: Address,
    },
    /// A request writes to a read-only client, and is not the register
    /// pointer of a read of it.
    #[error("request {index} writes to {addr}, which is read-only (only a pointer of at most {pointer_len} byte(s) before a read is allowed)")]
    ReadOnly {
        /// Its index in the group.
        index: usize,
        /// The guest address.
        addr: Address,
        /// The longest write the client accepts, as the pointer of a read.
        pointer_len: usize,
    },
    /// An earlier part of this group failed (FAIL_NEXT).
    #[error("an earlier part of this group failed")]
    PreviousPartFailed,
    /// The library failed internally while running the group (a bug); the
    /// group failed, the device goes on.
    #[error("internal error while running the group")]
    Internal,
    /// The host transfer failed.
    #[error("transfer failed after {completed} of its messages")]
    Host {
        /// Messages completed before the failure.
        completed: usize,
        /// What the adapter reported.
        #[source]
        error: HostError,
    },
}

impl GroupError {
    /// Whether the guest is at fault (as opposed to the host or the bus).
    pub fn is_guest_error(&self) -> bool {
        !matches!(
            self,
            Self::Host { .. } | Self::PreviousPartFailed | Self::Internal
        )
    }

    /// Whether this is a plain NACK (an absent target), which bus scans
    /// cause all the time and which is not worth a warning.
    pub fn is_nack(&self) -> bool {
        matches!(self, Self::Host { error, .. } if error.is_nack())
    }
}

/// A group outside the transfer limits.
fn limit_error(e: LimitError) -> GroupError {
    match e {
        LimitError::TooManyMessages { count } => GroupError::TooMany { count },
        // A group has at least one request, and requests are messages
        // within the length limit by construction.
        LimitError::EmptyTransfer | LimitError::MessageTooLong { .. } => GroupError::Internal,
    }
}

/// Runs jobs in order on an adapter, under a policy.
#[derive(Debug)]
pub struct Executor<A> {
    adapter: A,
    policy: Policy,
    carry_failed: bool,
    /// Reused between groups.
    msgs: Vec<Msg>,
    /// Per message of `msgs`: its guest address, when that client is
    /// read-only.
    read_only: Vec<Option<(Address, ReadOnly)>>,
    /// Where each group is recorded, if anywhere.
    capture: Option<Tap>,
}

impl<A: I2cAdapter> Executor<A> {
    /// An executor for `adapter` under `policy`.
    pub fn new(adapter: A, policy: Policy) -> Self {
        Self {
            adapter,
            policy,
            carry_failed: false,
            msgs: Vec::new(),
            read_only: Vec::new(),
            capture: None,
        }
    }

    /// Records every group from now on into `tap` (`None`: stops).
    pub fn set_capture(&mut self, tap: Option<Tap>) {
        self.capture = tap;
    }

    /// Forgets a failed partial group (device reset).
    pub fn reset(&mut self) {
        self.carry_failed = false;
    }

    /// Validates and runs one job; its outcomes and why it failed.
    #[cfg(test)]
    fn run(&mut self, job: Job) -> JobResult {
        let mut outcomes = Vec::with_capacity(job.requests.len());
        let error = self.run_into(job.requests, job.ends_open, &mut outcomes);
        JobResult { outcomes, error }
    }

    /// Validates and runs one group, appending one outcome per request to
    /// `outcomes`; returns why the group failed, if it did. With a
    /// capture, the group is recorded after it ran (module `record`).
    pub fn run_into(
        &mut self,
        requests: impl IntoIterator<Item = Result<Request, RequestError>, IntoIter: ExactSizeIterator>,
        ends_open: bool,
        outcomes: &mut Vec<Outcome>,
    ) -> Option<GroupError> {
        let Some(tap) = self.capture.clone() else {
            return self.run_group(requests, ends_open, outcomes);
        };
        // The requests are consumed by the run: the record needs a copy.
        let requests: Vec<_> = requests.into_iter().collect();
        let start = outcomes.len();
        let at = SystemTime::now();
        let error = self.run_group(requests.clone(), ends_open, outcomes);
        let done = outcomes.get(start..).unwrap_or_default();
        record::group(&tap, at, &requests, done, error.as_ref(), &self.policy);
        error
    }

    fn run_group(
        &mut self,
        requests: impl IntoIterator<Item = Result<Request, RequestError>, IntoIter: ExactSizeIterator>,
        ends_open: bool,
        outcomes: &mut Vec<Outcome>,
    ) -> Option<GroupError> {
        let requests = requests.into_iter();
        let n = requests.len();
        let start = outcomes.len();
        let error = if self.carry_failed {
            Some(GroupError::PreviousPartFailed)
        } else {
            match self.validate(requests) {
                Ok(t) => self.transfer(t, outcomes),
                Err(e) => Some(e),
            }
        };
        if outcomes.len() == start {
            // Validation failures and earlier failed parts: nothing ran.
            outcomes.extend(std::iter::repeat_n(Outcome::Err, n));
        }
        self.carry_failed = ends_open && error.is_some();
        error
    }

    fn validate(
        &mut self,
        requests: impl ExactSizeIterator<Item = Result<Request, RequestError>>,
    ) -> Result<Transfer, GroupError> {
        self.msgs.clear();
        self.read_only.clear();
        let count = requests.len();
        let limit = check_msg_count(count).err().map(limit_error);
        let too_many = limit.is_some();
        let mut first_malformed = None;
        let mut not_allowed = None;
        for (index, r) in requests.enumerate() {
            match r {
                Err(source) => {
                    first_malformed.get_or_insert(GroupError::Malformed { index, source });
                }
                Ok(m) if first_malformed.is_none() && not_allowed.is_none() && !too_many => {
                    match self.policy.route(m.addr()) {
                        Some(route) => {
                            self.read_only.push(route.read_only.map(|ro| (m.addr(), ro)));
                            self.msgs.push(m.with_addr(route.host));
                        }
                        None => {
                            not_allowed = Some(GroupError::NotAllowed {
                                index,
                                addr: m.addr(),
                            });
                        }
                    }
                }
                Ok(_) => {}
            }
        }
        if let Some(e) = first_malformed {
            return Err(e);
        }
        if let Some(e) = limit.or(not_allowed) {
            return Err(e);
        }
        let refused = self.read_only.iter().enumerate().find_map(|(index, ro)| {
            ro.filter(|&(_, ro)| refused_by_read_only(&self.msgs, index, ro))
                .map(|(addr, ro)| GroupError::ReadOnly {
                    index,
                    addr,
                    pointer_len: ro.pointer_len(),
                })
        });
        if let Some(e) = refused {
            return Err(e);
        }
        Transfer::new(std::mem::take(&mut self.msgs)).map_err(limit_error)
    }

    /// Runs the validated transfer; returns the error and pushes outcomes
    /// only for a transfer that reached the adapter.
    fn transfer(&mut self, mut t: Transfer, outcomes: &mut Vec<Outcome>) -> Option<GroupError> {
        let n = t.msgs().len();
        let (completed, error) = match host::transfer(&mut self.adapter, &mut t) {
            Ok(()) => (n, None),
            Err(f) => (
                f.completed.min(n),
                Some(GroupError::Host {
                    completed: f.completed,
                    error: f.error,
                }),
            ),
        };
        let mut msgs = t.into_msgs();
        outcomes.extend(msgs.drain(..).enumerate().map(|(i, m)| {
            if i >= completed {
                Outcome::Err
            } else if m.is_read() {
                Outcome::Ok(Some(m.into_data()))
            } else {
                Outcome::Ok(None)
            }
        }));
        // Keep the allocation for the next group.
        self.msgs = msgs;
        error
    }
}

/// The result of one job in the tests: an outcome per request, and the
/// error if any.
#[cfg(test)]
#[derive(Debug)]
struct JobResult {
    outcomes: Vec<Outcome>,
    error: Option<GroupError>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::sim::SimAdapter;

    fn s(addr: u8) -> Address {
        Address::seven(addr).unwrap()
    }
    fn w(addr: u8, d: &[u8]) -> Result<Request, RequestError> {
        Ok(Msg::write(s(addr), d.to_vec()).unwrap())
    }
    fn r(addr: u8, n: usize) -> Result<Request, RequestError> {
        Ok(Msg::read(s(addr), n).unwrap())
    }
    fn job(requests: Vec<Result<Request, RequestError>>) -> Job {
        Job {
            requests,
            ends_open: false,
        }
    }
    fn exec(spec: &str, policy: &str) -> (Executor<SimAdapter>, crate::host::sim::SimHandle) {
        let sim = SimAdapter::from_spec(spec).unwrap();
        let h = sim.handle();
        (Executor::new(sim, Policy::parse(policy).unwrap()), h)
    }

    fn parsed(fail_next: bool) -> Parsed {
        Parsed {
            fail_next,
            in_len: 1,
            request: w(0x50, &[]),
        }
    }

    #[test]
    fn grouper_closes_groups_on_fail_next() {
        let mut g = Grouper::default();
        assert!(!g.push(1, parsed(true)));
        assert!(g.push(2, parsed(false)));
        let b = g.take(false, Vec::new(), Vec::new());
        assert_eq!(b.tokens, vec![1, 2]);
        assert_eq!(b.job.requests.len(), 2);
        assert_eq!(g.pending(), 0);
        assert!(!g.push(3, parsed(true)));
        assert_eq!(g.pending(), 1);
        let b = g.take(true, Vec::new(), Vec::new());
        assert_eq!((b.tokens, b.job.ends_open), (vec![3], true));
        assert!(!g.push(4, parsed(true)));
        assert_eq!(g.clear(), vec![4]);
        assert_eq!(g.pending(), 0);
    }

    #[test]
    fn write_then_read_group_is_one_transfer() {
        let (mut x, h) = exec("eeprom@0x50,regs@0x48", "0x48,0x50");
        let res = x.run(job(vec![w(0x48, &[0x05]), r(0x48, 2)]));
        assert_eq!(res.error, None);
        assert_eq!(
            res.outcomes,
            vec![Outcome::Ok(None), Outcome::Ok(Some(vec![0xfa, 0xf9]))]
        );
        assert_eq!(h.lock().rdwr_calls, 1);
    }

    #[test]
    fn second_message_to_a_disallowed_address_never_reaches_the_bus() {
        let (mut x, h) = exec("eeprom@0x50,regs@0x48", "0x50");
        let res = x.run(job(vec![w(0x50, &[0x00]), r(0x48, 1)]));
        assert_eq!(res.outcomes, vec![Outcome::Err, Outcome::Err]);
        assert_eq!(
            res.error,
            Some(GroupError::NotAllowed {
                index: 1,
                addr: s(0x48)
            })
        );
        assert!(res.error.unwrap().is_guest_error());
        assert!(h.lock().log.is_empty());
    }

    #[test]
    fn forty_three_messages_are_refused() {
        let (mut x, h) = exec("eeprom@0x50", "0x50");
        let res = x.run(job((0..43).map(|_| r(0x50, 1)).collect()));
        assert_eq!(res.outcomes, vec![Outcome::Err; 43]);
        assert_eq!(res.error, Some(GroupError::TooMany { count: 43 }));
        let ok = x.run(job((0..42).map(|_| r(0x50, 1)).collect()));
        assert_eq!(ok.error, None);
        assert_eq!(h.lock().rdwr_calls, 1);
    }

    #[test]
    fn malformed_member_fails_the_whole_group() {
        let (mut x, h) = exec("eeprom@0x50", "0x50");
        let bad = Err(RequestError::ReservedFlags { flags: 8 });
        let res = x.run(job(vec![w(0x50, &[0]), bad.clone(), r(0x50, 1)]));
        assert_eq!(res.outcomes, vec![Outcome::Err; 3]);
        assert_eq!(
            res.error,
            Some(GroupError::Malformed {
                index: 1,
                source: RequestError::ReservedFlags { flags: 8 }
            })
        );
        assert!(h.lock().log.is_empty());
    }

    #[test]
    fn remap_reaches_the_host_address() {
        let (mut x, h) = exec("eeprom@0x51", "0x60=0x51");
        let res = x.run(job(vec![w(0x60, &[0x00])]));
        assert_eq!(res.error, None);
        assert_eq!(h.lock().log, vec!["W1@0x51"]);
    }

    #[test]
    fn a_read_only_client_is_read_but_never_written() {
        let (mut x, h) = exec("eeprom@0x50,regs@0x48", "0x50:ro,0x60=0x48:ro2,0x51");
        // The pointer and the read, one transfer: allowed.
        let res = x.run(job(vec![w(0x50, &[0x10]), r(0x50, 2)]));
        assert_eq!(res.error, None);
        let res = x.run(job(vec![w(0x60, &[0x10, 0x00]), r(0x60, 1)]));
        assert_eq!(res.error, None);
        assert_eq!(h.lock().log, vec!["W1@0x50", "R2@0x50", "W2@0x48", "R1@0x48"]);
        // Every other write: refused before the bus, the group fails.
        for (group, index, addr, pointer_len) in [
            (vec![w(0x50, &[0x10, 0xaa])], 0, 0x50, 1),
            // A pointer and a data byte, to a client of 1-byte pointers.
            (vec![w(0x50, &[0x10, 0xaa]), r(0x50, 1)], 0, 0x50, 1),
            (vec![w(0x60, &[0x10, 0xaa, 0xbb]), r(0x60, 1)], 0, 0x60, 2),
            (vec![w(0x50, &[])], 0, 0x50, 1),
            (vec![w(0x50, &[0x10]), r(0x51, 1)], 0, 0x50, 1),
            (vec![r(0x50, 1), w(0x60, &[1])], 1, 0x60, 2),
        ] {
            let n = group.len();
            let res = x.run(job(group));
            assert_eq!(res.outcomes, vec![Outcome::Err; n]);
            let e = res.error.unwrap();
            assert_eq!(e, GroupError::ReadOnly { index, addr: s(addr), pointer_len });
            assert!(e.is_guest_error());
        }
        assert_eq!(h.lock().log.len(), 4, "nothing more reached the bus");
        // A writable client next to them is written.
        assert_eq!(x.run(job(vec![w(0x51, &[1, 2])])).error.map(|e| e.is_nack()), Some(true));
    }

    #[test]
    fn nack_on_second_message_keeps_first_ok() {
        let (mut x, _) = exec("eeprom@0x50", "0x50,0x51");
        let res = x.run(job(vec![w(0x50, &[0x00]), r(0x51, 1), r(0x50, 1)]));
        assert_eq!(
            res.outcomes,
            vec![Outcome::Ok(None), Outcome::Err, Outcome::Err]
        );
        let e = res.error.unwrap();
        assert!(e.is_nack() && !e.is_guest_error());
    }

    #[test]
    fn failed_partial_group_fails_its_continuation() {
        let (mut x, _) = exec("eeprom@0x50", "0x50,0x51");
        let part = x.run(Job {
            requests: vec![r(0x51, 1)],
            ends_open: true,
        });
        assert!(part.error.is_some());
        let cont = x.run(Job {
            requests: vec![r(0x50, 1)],
            ends_open: true,
        });
        assert_eq!(cont.error, Some(GroupError::PreviousPartFailed));
        let last = x.run(job(vec![r(0x50, 1)]));
        assert_eq!(last.error, Some(GroupError::PreviousPartFailed));
        // The next group is independent again.
        assert_eq!(x.run(job(vec![r(0x50, 1)])).error, None);
        // A successful partial group lets its continuation run.
        assert_eq!(
            x.run(Job {
                requests: vec![w(0x50, &[0])],
                ends_open: true
            })
            .error,
            None
        );
        assert_eq!(x.run(job(vec![r(0x50, 1)])).error, None);
    }

    #[test]
    fn reset_forgets_a_failed_partial_group() {
        let (mut x, _) = exec("eeprom@0x50", "0x50,0x51");
        x.run(Job {
            requests: vec![r(0x51, 1)],
            ends_open: true,
        });
        x.reset();
        assert_eq!(x.run(job(vec![r(0x50, 1)])).error, None);
    }
}
