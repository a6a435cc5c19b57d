// SPDX-License-Identifier: GPL-2.0-or-later
//! Tests of the simulation adapter.

use super::*;
use crate::host::transfer;

const E: Address = Address::seven(0x50).unwrap();

fn a(addr: u8) -> Address {
    Address::seven(addr).unwrap()
}
fn w(addr: Address, d: &[u8]) -> Msg {
    Msg::write(addr, d.to_vec()).unwrap()
}
fn r(addr: Address, n: usize) -> Msg {
    Msg::read(addr, n).unwrap()
}
/// Runs `msgs` as one transfer; the messages come back with what was
/// read.
fn run(sim: &mut SimAdapter, msgs: Vec<Msg>) -> Result<Vec<Msg>, Failure> {
    let mut t = Transfer::new(msgs).unwrap();
    transfer(sim, &mut t).map(|()| t.into_msgs())
}

fn eeprom() -> (SimAdapter, SimHandle) {
    let sim = SimAdapter::from_spec("eeprom@0x50,regs@0x48").unwrap();
    let h = sim.handle();
    (sim, h)
}

#[test]
fn eeprom_page_write_wraps_inside_the_page() {
    let (mut sim, h) = eeprom();
    run(&mut sim, vec![w(E, &[0x06, 1, 2, 3, 4])]).unwrap();
    let mem = h.lock().devices.len();
    assert_eq!(mem, 2);
    let r = run(&mut sim, vec![w(E, &[0x00]), r(E, 8)]).unwrap();
    assert_eq!(r[1].data(), [3, 4, 0xff, 0xff, 0xff, 0xff, 1, 2]);
}

#[test]
fn eeprom_sequential_read_wraps_at_the_end() {
    let (mut sim, _) = eeprom();
    run(&mut sim, vec![w(E, &[0xff, 0xab])]).unwrap();
    run(&mut sim, vec![w(E, &[0x00, 0xcd])]).unwrap();
    let r2 = run(&mut sim, vec![w(E, &[0xff]), r(E, 2)]).unwrap();
    assert_eq!(r2[1].data(), [0xab, 0xcd]);
    // Current-address read continues after the last byte read.
    let c = run(&mut sim, vec![r(E, 1)]).unwrap();
    assert_eq!(c[0].data(), [0xff]);
}

#[test]
fn eeprom_repeated_start_aborts_page_write() {
    let (mut sim, h) = eeprom();
    run(&mut sim, vec![w(E, &[0x10, 0x55]), r(E, 1)]).unwrap();
    let mut bus = h.lock();
    let dev = bus.devices.get_mut(&0x50).unwrap();
    dev.start(false);
    dev.write(0x10);
    dev.stop();
    dev.start(true);
    assert_eq!(dev.read(), 0xff);
}

#[test]
fn register_file_pattern_and_write() {
    let (mut sim, _) = eeprom();
    let r48 = a(0x48);
    let g = run(&mut sim, vec![w(r48, &[0x02]), r(r48, 2)]).unwrap();
    assert_eq!(g[1].data(), [0xfd, 0xfc]);
    run(&mut sim, vec![w(r48, &[0x02, 0x11])]).unwrap();
    let g = run(&mut sim, vec![w(r48, &[0x02]), r(r48, 2)]).unwrap();
    assert_eq!(g[1].data(), [0x11, 0xfc]);
}

#[test]
fn absent_address_nacks_with_index() {
    let (mut sim, _) = eeprom();
    let f = run(&mut sim, vec![w(E, &[0]), r(a(0x33), 1)]).unwrap_err();
    assert_eq!(
        f,
        Failure {
            completed: 1,
            error: HostError::Nack { addr: a(0x33) }
        }
    );
}

#[test]
fn smbus_only_mode_translates() {
    let sim = SimAdapter::from_spec("eeprom@0x50,smbus-only").unwrap();
    let h = sim.handle();
    let mut sim = sim;
    run(&mut sim, vec![w(E, &[0x20, 0x5a])]).unwrap();
    let g = run(&mut sim, vec![w(E, &[0x20]), r(E, 1)]).unwrap();
    assert_eq!(g[1].data(), [0x5a]);
    let bus = h.lock();
    assert_eq!((bus.rdwr_calls, bus.smbus_calls), (0, 2));
    assert_eq!(bus.log, vec!["W2@0x50", "W1@0x50", "R1@0x50"]);
}

#[test]
fn smbus_only_refuses_untranslatable_group_before_the_bus() {
    let sim = SimAdapter::from_spec("eeprom@0x50,smbus-only").unwrap();
    let h = sim.handle();
    let mut sim = sim;
    let f = run(&mut sim, vec![r(E, 4)]).unwrap_err();
    assert_eq!(
        f.error,
        HostError::NoSmbusEquivalent {
            adapter: "simulation".into(),
            shape: "[R4@0x50]".into()
        }
    );
    assert!(h.lock().log.is_empty());
}

#[test]
fn zero_length_falls_back_to_quick() {
    let sim = SimAdapter::from_spec("eeprom@0x50,no-zero-length").unwrap();
    let h = sim.handle();
    let mut sim = sim;
    run(&mut sim, vec![w(E, &[])]).unwrap();
    let f = run(&mut sim, vec![w(a(0x51), &[])]).unwrap_err();
    assert!(f.error.is_nack());
    let bus = h.lock();
    assert_eq!((bus.rdwr_calls, bus.smbus_calls), (0, 2));
}

#[test]
fn scripted_error_is_returned_once() {
    let (mut sim, h) = eeprom();
    h.lock().scripted.push_back(HostError::Os {
        op: "I2C_RDWR",
        adapter: "x".into(),
        errno: libc::EIO,
    });
    let f = run(&mut sim, vec![r(E, 1)]).unwrap_err();
    assert_eq!(f.error.errno(), libc::EIO);
    run(&mut sim, vec![r(E, 1)]).unwrap();
}

#[test]
fn ten_bit_target_nacks_after_the_messages_before_it() {
    let sim = SimAdapter::from_spec("eeprom@0x50,ten-bit").unwrap();
    let h = sim.handle();
    let mut sim = sim;
    let ten = Address::ten(0x150).unwrap();
    let f = run(&mut sim, vec![w(E, &[0x00, 0xaa]), r(ten, 1)]).unwrap_err();
    assert_eq!(
        f,
        Failure {
            completed: 1,
            error: HostError::Nack { addr: ten }
        }
    );
    // The first message did run (and was programmed at the STOP).
    let g = run(&mut sim, vec![w(E, &[0x00]), r(E, 1)]).unwrap();
    assert_eq!(g[1].data(), [0xaa]);
    assert_eq!(h.lock().log[1], "R1@10-bit 0x150");
}

#[test]
fn ten_bit_needs_the_functionality() {
    let (mut sim, h) = eeprom();
    let ten = Address::ten(0x150).unwrap();
    let f = run(&mut sim, vec![w(E, &[0x00]), r(ten, 1)]).unwrap_err();
    assert_eq!(
        f.error,
        HostError::TenBitUnsupported {
            adapter: "simulation".into()
        }
    );
    assert!(h.lock().log.is_empty());
}

#[test]
fn spec_errors_name_the_token() {
    assert_eq!(
        SimAdapter::from_spec("eeprom@0x50,dac@0x10").unwrap_err(),
        SimSpecError::UnknownItem("dac@0x10".into())
    );
    assert_eq!(
        SimAdapter::from_spec("eeprom@0x80").unwrap_err(),
        SimSpecError::BadAddress("eeprom@0x80".into())
    );
    assert_eq!(
        SimAdapter::from_spec("eeprom@0x50,regs@80").unwrap_err(),
        SimSpecError::Duplicate(0x50)
    );
}
