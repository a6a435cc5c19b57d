// SPDX-License-Identifier: GPL-2.0-or-later
//! Arbitrary sequences of valid and malformed requests, FAIL_NEXT flags
//! and batch ends, through the request queue on the simulation: every request
//! completes exactly once, in order, and a group refused by validation
//! never reaches the bus.
#![no_main]

use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use virtio_i2c_rust::{
    host::sim::SimAdapter,
    policy::Policy,
    virtio::{
        queue::{Element, Execution, RequestQueue},
        sg::Sg,
        VIRTIO_I2C_FLAGS_FAIL_NEXT, VIRTIO_I2C_FLAGS_M_RD, VIRTIO_I2C_MSG_OK,
    },
};
use vm_memory::VolatileSlice;

/// A request's device-writable part.
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

fuzz_target!(|data: &[u8]| {
    let sim = SimAdapter::from_spec("eeprom@0x50,regs@0x48").unwrap();
    let handle = sim.handle();
    let queue = RequestQueue::new(
        sim,
        Policy::parse("0x48,0x50,0x51").unwrap(),
        false,
        1024,
        Execution::Inline,
    )
    .unwrap();
    let mut pushed = 0u64;
    let mut expected = Vec::new();
    for chunk in data.chunks(3) {
        let [op, addr, len] = *chunk else { break };
        if op & 0x80 != 0 {
            queue.flush();
            continue;
        }
        let before = handle.lock().log.len();
        let n = usize::from(len % 40);
        let mut flags = if op & 0x8 != 0 {
            VIRTIO_I2C_FLAGS_FAIL_NEXT
        } else {
            0
        };
        let (data_len, writable) = match op & 0x7 {
            // Reserved flag bits: malformed.
            0 => {
                flags |= 4;
                (0, 1)
            }
            1 | 2 => {
                flags |= VIRTIO_I2C_FLAGS_M_RD;
                (0, n + 1)
            }
            _ => (n, 1),
        };
        let malformed = op & 0x7 == 0;
        let mut out = (u16::from(addr & 0x7f) << 1).to_le_bytes().to_vec();
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&flags.to_le_bytes());
        out.resize(8 + data_len, len);
        let s = [VolatileSlice::from(&mut out[..])];
        queue
            .push(
                El {
                    id: pushed,
                    writable: Mutex::new(vec![0xaa; writable]),
                },
                &Sg::new(&s),
            )
            .map_err(|e| e.1)
            .unwrap();
        expected.push(pushed);
        pushed += 1;
        let mut done = Vec::new();
        queue.complete(|e, used| done.push((e, used)), |_| {});
        if malformed && !done.is_empty() {
            // A group with a malformed request put nothing on the bus.
            assert_eq!(handle.lock().log.len(), before);
        }
        for (e, used) in &done {
            assert_eq!(Some(e.id), expected.first().copied());
            expected.remove(0);
            let w = e.writable.lock().unwrap();
            assert_eq!(usize::try_from(*used).unwrap(), w.len());
            if w.last() == Some(&VIRTIO_I2C_MSG_OK) {
                assert!(w.len() <= 40);
            }
        }
    }
    queue.flush();
    queue.complete(
        |e, _| {
            assert_eq!(Some(e.id), expected.first().copied());
            expected.remove(0);
        },
        |_| {},
    );
    assert!(expected.is_empty(), "requests left without completion");
    assert_eq!(queue.outstanding(), 0);
});
