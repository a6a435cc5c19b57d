// SPDX-License-Identifier: GPL-2.0-or-later
//! Recording each group into a capture ([`crate::capture`]), after it ran.
//!
//! The records show the guest's view: each request of the group is one
//! message, with the address the guest used (a remap adds the host address
//! to the comment), its direction, the bytes it wrote or read, and its
//! outcome:
//! - the group ran: ACK for every message, with the data read;
//! - the transfer failed: ACK for the messages the adapter reports
//!   complete, NACK or error for the next one, "not run" for the rest
//!   (i2c-dev cannot say which message failed: there the first message
//!   carries the failure);
//! - the group was refused before the bus (a malformed request, more than
//!   42 messages, an address not allowed, a write to a read-only client)
//!   or an earlier part of it failed: every message is refused or not run,
//!   with the reason; a malformed request, which has no address, is an
//!   event record with the reason.

use std::time::SystemTime;

use super::{
    group::GroupError,
    request::{Request, RequestError},
    response::Outcome,
};
use crate::{
    capture::{Record, Status, Tap},
    i2c::Address,
    policy::Policy,
};

/// Records one group: its requests, their outcomes, why it failed.
pub(super) fn group(
    tap: &Tap,
    at: SystemTime,
    requests: &[Result<Request, RequestError>],
    outcomes: &[Outcome],
    error: Option<&GroupError>,
    policy: &Policy,
) {
    let why = error.map(ToString::to_string).unwrap_or_default();
    let mut notes = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        if let Err(e) = r {
            notes.push(format!("request {i} of the group is malformed: {e}"));
        }
    }
    let mut notes = notes.iter();
    let mut records = Vec::with_capacity(requests.len());
    for (i, r) in requests.iter().enumerate() {
        let Ok(m) = r else {
            if let Some(n) = notes.next() {
                records.push(Record::Note {
                    status: Status::Refused(n),
                });
            }
            continue;
        };
        let status = status(i, error, &why);
        let data = match (m.is_read(), outcomes.get(i)) {
            (false, _) => m.data(),
            (true, Some(Outcome::Ok(Some(d)))) => d.as_slice(),
            (true, _) => &[],
        };
        records.push(Record::Msg {
            addr: m.addr(),
            read: m.is_read(),
            data,
            status,
            host: host_of(policy, m.addr()),
        });
    }
    tap.record(at, &records);
}

/// The host address of a remapped guest address.
fn host_of(policy: &Policy, addr: Address) -> Option<Address> {
    policy
        .route(addr)
        .map(|r| r.host)
        .filter(|h| *h != addr)
}

/// The outcome of request `i` of a group that failed with `error`
/// (described by `why`).
fn status<'a>(i: usize, error: Option<&GroupError>, why: &'a str) -> Status<'a> {
    match error {
        None => Status::Ack,
        Some(GroupError::Host { completed, error }) => match i.cmp(completed) {
            std::cmp::Ordering::Less => Status::Ack,
            std::cmp::Ordering::Equal if error.is_nack() => Status::Nack,
            std::cmp::Ordering::Equal => Status::Error(why),
            std::cmp::Ordering::Greater => Status::NotRun("an earlier message of the transfer failed"),
        },
        Some(GroupError::PreviousPartFailed) => Status::NotRun(why),
        Some(GroupError::Internal) => Status::Error(why),
        Some(
            GroupError::Malformed { .. }
            | GroupError::TooMany { .. }
            | GroupError::NotAllowed { .. }
            | GroupError::ReadOnly { .. },
        ) => Status::Refused(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        capture::tests::Sink,
        host::sim::SimAdapter,
        i2c::Msg,
        virtio::group::{Executor, GroupError},
    };

    fn s(a: u8) -> Address {
        Address::seven(a).unwrap()
    }

    fn exec(policy: &str) -> (Executor<SimAdapter>, Sink) {
        let sim = SimAdapter::from_spec("eeprom@0x50").unwrap();
        let mut x = Executor::new(sim, Policy::parse(policy).unwrap());
        let (tap, sink) = Sink::tap();
        x.set_capture(Some(tap));
        (x, sink)
    }

    #[test]
    fn a_malformed_request_is_an_event_and_refuses_its_group() {
        let (mut x, sink) = exec("0x50");
        let mut out = Vec::new();
        let group = vec![
            Ok(Msg::write(s(0x50), vec![1]).unwrap()),
            Err(RequestError::ReservedFlags { flags: 8 }),
        ];
        let e = x.run_into(group, false, &mut out);
        assert!(matches!(e, Some(GroupError::Malformed { index: 1, .. })));
        let why = "request 1 of the group is malformed";
        assert_eq!(
            sink.records(),
            [
                (vec![0, 0x04, 0, 0, 0, 0xa0, 1], format!("refused: {why}")),
                (
                    vec![0x80, 0x04, 0, 0, 0],
                    format!("refused: {why}: reserved flag bits set in 0x00000008")
                ),
            ]
        );
    }

    #[test]
    fn the_rest_of_a_failed_partial_group_is_not_run() {
        let (mut x, sink) = exec("0x50,0x51");
        let mut out = Vec::new();
        let part = vec![Ok(Msg::read(s(0x51), 2).unwrap())];
        assert!(x.run_into(part, true, &mut out).is_some_and(|e| e.is_nack()));
        let rest = vec![Ok(Msg::read(s(0x50), 1).unwrap())];
        assert_eq!(
            x.run_into(rest, false, &mut out),
            Some(GroupError::PreviousPartFailed)
        );
        assert_eq!(
            sink.records(),
            [
                (vec![0, 0x01, 0, 0, 1, 0xa3], "NACK".to_owned()),
                (
                    vec![0, 0x08, 0, 0, 1, 0xa1],
                    "not run: an earlier part of this group failed".to_owned()
                ),
            ]
        );
    }
}
