// SPDX-License-Identifier: GPL-2.0-or-later
//! Arbitrary sequences of valid and malformed requests, FAIL_NEXT flags
//! and batch ends, through the engine on the simulation: every request
//! completes exactly once, in order, and a group refused by validation
//! never reaches the bus.
#![no_main]

use libfuzzer_sys::fuzz_target;
use virtio_i2c_rust::{
    engine::Engine,
    host::sim::SimAdapter,
    i2c::{Address, Msg},
    policy::Policy,
    virtio::{
        request::{Parsed, RequestError},
        response::Outcome,
    },
};

fn a(addr: u8) -> Address {
    Address::seven(addr & 0x7f).unwrap()
}

fuzz_target!(|data: &[u8]| {
    let sim = SimAdapter::from_spec("eeprom@0x50,regs@0x48").unwrap();
    let handle = sim.handle();
    let engine = Engine::inline(sim, Policy::parse("0x48,0x50,0x51").unwrap());
    let mut pushed = 0u64;
    let mut expected_tokens = Vec::new();
    for chunk in data.chunks(3) {
        let [op, addr, len] = *chunk else { break };
        if op & 0x80 != 0 {
            engine.flush();
            continue;
        }
        let before = handle.lock().log.len();
        let request = match op & 0x7 {
            0 => Err(RequestError::ReservedFlags { flags: 4 }),
            1 | 2 => Ok(Msg::read(a(addr), usize::from(len % 40)).unwrap()),
            _ => Ok(Msg::write(a(addr), vec![len; usize::from(len % 40)]).unwrap()),
        };
        let malformed = request.is_err();
        engine.push(
            pushed,
            Parsed {
                fail_next: op & 0x8 != 0,
                in_len: 1,
                request,
            },
        );
        expected_tokens.push(pushed);
        pushed += 1;
        let c = engine.complete();
        if malformed && !c.completions.is_empty() {
            // A group with a malformed request put nothing on the bus.
            assert_eq!(handle.lock().log.len(), before);
        }
        for comp in &c.completions {
            assert_eq!(Some(comp.token), expected_tokens.first().copied());
            expected_tokens.remove(0);
            if let Outcome::Ok(Some(d)) = &comp.outcome {
                assert!(d.len() < 40);
            }
        }
    }
    engine.flush();
    let c = engine.complete();
    for comp in &c.completions {
        assert_eq!(Some(comp.token), expected_tokens.first().copied());
        expected_tokens.remove(0);
    }
    assert!(
        expected_tokens.is_empty(),
        "requests left without completion"
    );
    assert_eq!(engine.outstanding(), 0);
});
