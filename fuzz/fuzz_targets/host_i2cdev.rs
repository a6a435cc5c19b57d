// SPDX-License-Identifier: GPL-2.0-or-later
//! The host-i2cdev state machine under arbitrary sequences of QEMU target
//! events, bytes, reads and resets, on a simulated host bus, plain and
//! read-only: it never panics; the host work of one read START stays
//! within 8192 bytes and 14 transfers; a read-only target puts no write on
//! the host bus but a pointer of at most its width (1 or 2 bytes) right
//! before a read of it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use virtio_i2c_rust::{
    host::sim::SimAdapter,
    host_i2cdev::{Event, HostI2cDev},
    i2c::{Address, MAX_MSG_LEN},
    policy::ReadOnly,
};

fuzz_target!(|data: &[u8]| {
    let [mode, prefetch, ops @ ..] = data else {
        return;
    };
    let read_only = match mode & 0x11 {
        0x01 => Some(ReadOnly::BYTE),
        0x11 => Some(ReadOnly::WORD),
        _ => None,
    };
    let spec = if mode & 2 != 0 {
        "eeprom@0x50,regs@0x48,smbus-only"
    } else {
        "eeprom@0x50,regs@0x48"
    };
    let sim = SimAdapter::from_spec(spec).unwrap();
    let h = sim.handle();
    let addr = Address::seven(if mode & 4 != 0 { 0x48 } else { 0x50 }).unwrap();
    let prefetch = 1 + usize::from(*prefetch) * 32;
    let mut t = HostI2cDev::new(sim, addr, prefetch, read_only).unwrap();
    // Host transfers and bytes read since the last read START, counting
    // only what the reads cost (writes flushed later are the writes').
    let mut read_calls = 0;
    let mut read_bytes = 0;
    let cost = |h: &virtio_i2c_rust::host::sim::SimHandle| {
        let bus = h.lock();
        let bytes: usize = bus.log.iter().filter(|e| e.read).map(|e| e.len).sum();
        (bus.rdwr_calls + bus.smbus_calls, bytes)
    };
    for op in ops {
        match op >> 5 {
            0 => {
                let _ = t.event(Event::StartSend);
            }
            1 => {
                let (c0, b0) = cost(&h);
                let _ = t.event(Event::StartRecv);
                let (c1, b1) = cost(&h);
                (read_calls, read_bytes) = (c1 - c0, b1 - b0);
            }
            2 => {
                let _ = t.event(Event::Finish);
            }
            3 => {
                let _ = t.event(Event::Nack);
            }
            4 | 5 => {
                let _ = t.send(op & 0x3f);
            }
            6 => {
                // A long read: up to 31 x 64 bytes at a time; reads add
                // up, so a few reach past the 8192-byte limit.
                let (c0, b0) = cost(&h);
                for _ in 0..usize::from(op & 0x1f) * 64 {
                    t.recv();
                }
                let (c1, b1) = cost(&h);
                read_calls += c1 - c0;
                read_bytes += b1 - b0;
                assert!(read_calls <= 14, "{read_calls} host transfers in one read");
                assert!(read_bytes <= MAX_MSG_LEN, "{read_bytes} bytes in one read");
            }
            _ => t.reset(),
        }
        let _ = t.take_error();
    }
    if let Some(ro) = read_only {
        let log = &h.lock().log;
        for (i, e) in log.iter().enumerate() {
            if !e.read {
                let next = log.get(i + 1);
                assert!(
                    e.len <= ro.pointer_len(),
                    "a write of {} bytes to a read-only target",
                    e.len
                );
                assert!(
                    next.is_some_and(|n| n.read && n.addr == e.addr),
                    "a write to a read-only target without its read"
                );
            }
        }
    }
});
