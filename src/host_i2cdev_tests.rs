// SPDX-License-Identifier: GPL-2.0-or-later
//! Tests of the host-i2cdev state machine.

use super::*;
use crate::{
    host::sim::{SimAdapter, SimHandle},
    policy::ReadOnly,
};

fn pt(spec: &str, addr: u8, prefetch: usize) -> (HostI2cDev<SimAdapter>, SimHandle) {
    let sim = SimAdapter::from_spec(spec).unwrap();
    let h = sim.handle();
    (
        HostI2cDev::new(sim, Address::seven(addr).unwrap(), prefetch, None).unwrap(),
        h,
    )
}

fn write(p: &mut HostI2cDev<SimAdapter>, bytes: &[u8]) {
    p.event(Event::StartSend).unwrap();
    for b in bytes {
        p.send(*b).unwrap();
    }
}

#[test]
fn write_is_one_transfer_at_stop() {
    let (mut p, h) = pt("eeprom@0x50", 0x50, 1);
    write(&mut p, &[0x10, 1, 2, 3]);
    assert!(h.lock().log.is_empty(), "nothing before STOP");
    p.event(Event::Finish).unwrap();
    assert_eq!(h.lock().log, vec!["W4@0x50"]);
    assert_eq!(h.lock().rdwr_calls, 1);
}

#[test]
fn register_read_keeps_its_repeated_start() {
    let (mut p, h) = pt("regs@0x48", 0x48, 2);
    write(&mut p, &[0x04]);
    p.event(Event::StartRecv).unwrap();
    assert_eq!(h.lock().log, vec!["W1@0x48", "R2@0x48"]);
    assert_eq!(h.lock().rdwr_calls, 1);
    assert_eq!((p.recv(), p.recv()), (0xfb, 0xfa));
    p.event(Event::Nack).unwrap();
    p.event(Event::Finish).unwrap();
    assert_eq!(h.lock().rdwr_calls, 1);
}

#[test]
fn refill_continues_sequential_read() {
    let (mut p, h) = pt("eeprom@0x50", 0x50, 1);
    write(&mut p, &[0x00, 0xa, 0xb, 0xc]);
    p.event(Event::Finish).unwrap();
    write(&mut p, &[0x00]);
    p.event(Event::StartRecv).unwrap();
    assert_eq!([p.recv(), p.recv(), p.recv()], [0xa, 0xb, 0xc]);
    p.event(Event::Finish).unwrap();
    // The refill reads twice as much as the read before it.
    assert_eq!(h.lock().log, vec!["W4@0x50", "W1@0x50", "R1@0x50", "R2@0x50"]);
}

#[test]
fn host_nack_at_start_is_a_nack() {
    let (mut p, _) = pt("eeprom@0x50", 0x51, 1);
    write(&mut p, &[0x00]);
    let e = p.event(Event::StartRecv).unwrap_err();
    assert!(e.is_nack());
    assert_eq!(p.take_error(), Some(e));
    assert_eq!(p.recv(), 0xff);
    assert!(
        p.event(Event::StartRecv).is_err(),
        "idle START recv also NACKs"
    );
}

#[test]
fn failed_write_at_stop_is_recorded() {
    let (mut p, _) = pt("eeprom@0x50", 0x51, 1);
    write(&mut p, &[0x00, 1]);
    assert_eq!(p.event(Event::Finish), Ok(()));
    assert!(p.take_error().unwrap().is_nack());
    assert_eq!(p.take_error(), None);
}

#[test]
fn write_write_read_is_one_transfer() {
    let (mut p, h) = pt("regs@0x48", 0x48, 1);
    write(&mut p, &[0x01, 0x99]);
    write(&mut p, &[0x01]);
    p.event(Event::StartRecv).unwrap();
    assert_eq!(p.recv(), 0x99);
    assert_eq!(h.lock().log, vec!["W2@0x48", "W1@0x48", "R1@0x48"]);
    assert_eq!(h.lock().rdwr_calls, 1);
}

#[test]
fn read_then_write_then_read() {
    let (mut p, h) = pt("regs@0x48", 0x48, 1);
    p.event(Event::StartRecv).unwrap();
    assert_eq!(p.recv(), 0xff);
    write(&mut p, &[0x03]);
    p.event(Event::StartRecv).unwrap();
    assert_eq!(p.recv(), 0xfc);
    p.event(Event::StartRecv).unwrap();
    assert_eq!(p.recv(), 0xfb);
    p.event(Event::Finish).unwrap();
    assert_eq!(
        h.lock().log,
        vec!["R1@0x48", "W1@0x48", "R1@0x48", "R1@0x48"]
    );
}

#[test]
fn send_outside_a_write_nacks() {
    let (mut p, h) = pt("regs@0x48", 0x48, 1);
    assert!(p.send(1).is_err());
    p.event(Event::StartRecv).unwrap();
    assert!(p.send(1).is_err());
    p.event(Event::Finish).unwrap();
    assert_eq!(p.recv(), 0xff, "recv when idle");
    assert_eq!(h.lock().rdwr_calls, 1);
}

#[test]
fn oversized_write_nacks_the_byte() {
    let (mut p, _) = pt("regs@0x48", 0x48, 1);
    p.event(Event::StartSend).unwrap();
    for _ in 0..MAX_MSG_LEN {
        p.send(0).unwrap();
    }
    assert_eq!(
        p.send(0),
        Err(TargetError::Limit(LimitError::MessageTooLong {
            len: MAX_MSG_LEN + 1
        }))
    );
}

#[test]
fn many_repeated_starts_split_before_the_limit() {
    let (mut p, h) = pt("regs@0x48", 0x48, 1);
    for _ in 0..MAX_MSGS + 3 {
        write(&mut p, &[0x00]);
    }
    p.event(Event::StartRecv).unwrap();
    let bus = h.lock();
    assert_eq!(bus.rdwr_calls, 2);
    assert_eq!(bus.log.len(), MAX_MSGS + 4);
}

#[test]
fn nack_drops_the_prefetched_rest() {
    let (mut p, h) = pt("regs@0x48", 0x48, 4);
    p.event(Event::StartRecv).unwrap();
    p.recv();
    p.event(Event::Nack).unwrap();
    // A controller that reads on after its NACK gets fresh data.
    p.recv();
    assert_eq!(h.lock().rdwr_calls, 2);
}

#[test]
fn smbus_only_host_gets_translations() {
    let (mut p, h) = pt("regs@0x48,smbus-only", 0x48, 2);
    write(&mut p, &[0x02]);
    p.event(Event::StartRecv).unwrap();
    assert_eq!((p.recv(), p.recv()), (0xfd, 0xfc));
    write(&mut p, &[0x02, 0x42]);
    p.event(Event::Finish).unwrap();
    assert_eq!(h.lock().smbus_calls, 2);
    assert_eq!(p.take_error(), None);
}

#[test]
fn reset_drops_buffered_writes() {
    let (mut p, h) = pt("eeprom@0x50", 0x50, 1);
    write(&mut p, &[0x00, 0xaa, 0xbb]);
    p.reset();
    p.event(Event::Finish).unwrap();
    assert!(h.lock().log.is_empty(), "nothing from before the reset");
    write(&mut p, &[0x00]);
    p.event(Event::Finish).unwrap();
    assert_eq!(h.lock().log, vec!["W1@0x50"]);
}

#[test]
fn a_long_read_costs_a_few_transfers_and_ends_at_the_limit() {
    let (mut p, h) = pt("eeprom@0x50", 0x50, 1);
    p.event(Event::StartRecv).unwrap();
    // The guest reads on for 3 x 8192 bytes.
    let bytes: Vec<u8> = (0..3 * MAX_MSG_LEN).map(|_| p.recv()).collect();
    // 1 + 2 + 4 + ... + 4096 + 4096: 14 transfers, 8192 bytes.
    let bus = h.lock();
    assert_eq!(bus.rdwr_calls, 14);
    let sizes: usize = bus.log.iter().map(|e| e.len).sum();
    assert_eq!(sizes, MAX_MSG_LEN);
    drop(bus);
    assert!(bytes[..MAX_MSG_LEN].iter().all(|&b| b == 0xff), "erased EEPROM");
    assert!(bytes[MAX_MSG_LEN..].iter().all(|&b| b == 0xff));
    // Reported once, as the guest's doing.
    let e = p.take_error().unwrap();
    assert_eq!(e, TargetError::ReadPastLimit { addr: Address::seven(0x50).unwrap() });
    assert!(e.is_guest_error());
    p.recv();
    assert_eq!(p.take_error(), None);
    // The next START reads afresh.
    p.event(Event::StartRecv).unwrap();
    p.recv();
    assert_eq!(h.lock().rdwr_calls, 15);
}

/// An adapter that fails every transfer after the first, counting
/// them.
struct FailsAfterOne(usize);

impl I2cAdapter for FailsAfterOne {
    fn funcs(&self) -> crate::i2c::Funcs {
        crate::i2c::Funcs(crate::i2c::Funcs::I2C)
    }
    fn rdwr(&mut self, _: &mut Transfer) -> Result<(), crate::host::Failure> {
        self.0 += 1;
        if self.0 > 1 {
            return Err(HostError::Os {
                op: "I2C_RDWR",
                adapter: "x".into(),
                errno: libc::EIO,
            }
            .into());
        }
        Ok(())
    }
    fn smbus(
        &mut self,
        _: Address,
        _: &mut crate::host::smbus::SmbusXfer,
    ) -> Result<(), HostError> {
        Ok(())
    }
    fn name(&self) -> String {
        "x".into()
    }
}

#[test]
fn a_failed_refill_ends_the_read_without_a_retry_per_byte() {
    let mut p = HostI2cDev::new(FailsAfterOne(0), Address::seven(0x50).unwrap(), 1, None)
        .unwrap();
    p.event(Event::StartRecv).unwrap();
    assert_eq!(p.recv(), 0);
    let rest: Vec<u8> = (0..1000).map(|_| p.recv()).collect();
    assert!(rest.iter().all(|&b| b == 0xff));
    // The START, one failed refill, and nothing more.
    assert_eq!(p.adapter.0, 2);
    assert!(p.take_error().is_some_and(|e| !e.is_guest_error()));
}

#[test]
fn a_read_only_target_forwards_only_the_pointer_of_a_read() {
    let sim = SimAdapter::from_spec("eeprom@0x50").unwrap();
    let h = sim.handle();
    let a = Address::seven(0x50).unwrap();
    let mut p = HostI2cDev::new(sim, a, 2, Some(ReadOnly::WORD)).unwrap();
    let ro = TargetError::ReadOnly { addr: a, pointer_len: 2 };
    // Pointer, repeated START, read: forwarded.
    write(&mut p, &[0x00, 0x10]);
    p.event(Event::StartRecv).unwrap();
    assert_eq!((p.recv(), p.recv()), (0xff, 0xff));
    p.event(Event::Finish).unwrap();
    assert_eq!(h.lock().log, vec!["W2@0x50", "R2@0x50"]);
    // A third byte is NACKed; the writes at STOP are dropped.
    write(&mut p, &[0x00, 0x10]);
    assert_eq!(p.send(0xaa), Err(ro.clone()));
    p.event(Event::Finish).unwrap();
    assert_eq!(p.take_error(), Some(ro.clone()));
    // A second write message NACKs its START.
    write(&mut p, &[0x00]);
    assert_eq!(p.event(Event::StartSend), Err(ro.clone()));
    p.event(Event::Finish).unwrap();
    assert_eq!(h.lock().log.len(), 2, "no write reached the host");
    assert!(ro.is_guest_error());
}

#[test]
fn a_read_only_target_of_1_byte_pointers_refuses_a_second_byte() {
    let sim = SimAdapter::from_spec("eeprom@0x50").unwrap();
    let h = sim.handle();
    let a = Address::seven(0x50).unwrap();
    let mut p = HostI2cDev::new(sim, a, 1, Some(ReadOnly::BYTE)).unwrap();
    let ro = TargetError::ReadOnly { addr: a, pointer_len: 1 };
    // A pointer and a data byte, then a read: the data byte is NACKed and
    // nothing is written; the read goes out after a fresh pointer.
    write(&mut p, &[0x10]);
    assert_eq!(p.send(0xaa), Err(ro.clone()));
    p.event(Event::Finish).unwrap();
    write(&mut p, &[0x10]);
    p.event(Event::StartRecv).unwrap();
    assert_eq!(p.recv(), 0xff);
    p.event(Event::Finish).unwrap();
    assert_eq!(h.lock().log, vec!["W1@0x50", "R1@0x50"]);
}

#[test]
fn config_is_checked() {
    let sim = || SimAdapter::from_spec("").unwrap();
    assert_eq!(
        HostI2cDev::new(sim(), Address::seven(0x50).unwrap(), 0, None).unwrap_err(),
        ConfigError::Prefetch(0)
    );
    assert_eq!(
        HostI2cDev::new(sim(), Address::seven(0x50).unwrap(), MAX_MSG_LEN + 1, None).unwrap_err(),
        ConfigError::Prefetch(MAX_MSG_LEN + 1)
    );
    assert_eq!(
        HostI2cDev::new(sim(), Address::seven(0x02).unwrap(), 1, None).unwrap_err(),
        ConfigError::Reserved(Address::seven(0x02).unwrap())
    );
}

#[test]
fn capture_records_forwarded_transfers_and_refused_writes() {
    use crate::capture::tests::Sink;
    let sim = SimAdapter::from_spec("eeprom@0x50").unwrap();
    let mut p =
        HostI2cDev::new(sim, Address::seven(0x50).unwrap(), 2, Some(ReadOnly::BYTE)).unwrap();
    let (tap, sink) = Sink::tap();
    p.set_capture(Some(tap));
    // A byte past the pointer, then STOP: both refused.
    write(&mut p, &[0x10]);
    assert!(p.send(0xaa).is_err());
    p.event(Event::Finish).unwrap();
    // A second write message: the first was no pointer.
    write(&mut p, &[0x11]);
    assert!(p.event(Event::StartSend).is_err());
    // The pointer and the read: forwarded as one transfer.
    write(&mut p, &[0x12]);
    p.event(Event::StartRecv).unwrap();
    p.event(Event::Finish).unwrap();
    let why = "refused: 0x50 is read-only: only a pointer of at most 1 byte(s) \
               before a read is forwarded";
    assert_eq!(
        sink.records(),
        [
            (vec![0, 0x04, 0, 0, 0, 0xa0, 0x10, 0xaa], why.to_owned()),
            (vec![0, 0x04, 0, 0, 0, 0xa0, 0x10], why.to_owned()),
            (vec![0, 0x04, 0, 0, 0, 0xa0, 0x11], why.to_owned()),
            (vec![0, 0, 0, 0, 0, 0xa0, 0x12], "ACK".to_owned()),
            (vec![0, 0, 0, 0, 1, 0xa1, 0xff, 0xff], "ACK".to_owned()),
        ]
    );
    // A host NACK: the read carries no data.
    let (mut q, _) = pt("eeprom@0x50", 0x51, 1);
    let (tap, sink) = Sink::tap();
    q.set_capture(Some(tap));
    assert!(q.event(Event::StartRecv).is_err());
    assert_eq!(sink.records(), [(vec![0, 0x01, 0, 0, 1, 0xa3], "NACK".to_owned())]);
}
