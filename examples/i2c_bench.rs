// SPDX-License-Identifier: GPL-2.0-or-later
//! In-guest I2C read benchmark: mean microseconds per read transfer on a
//! Linux i2c-dev adapter, through this crate's Linux adapter (so an
//! SMBus-only adapter gets the same SMBus translation the device uses).
//!
//! usage: i2c_bench ADAPTER ADDR [COUNT]
//!
//! Reads COUNT (default 2000) times 1 byte and COUNT times 32 bytes from
//! offset 0 of an EEPROM-like target at ADDR, each read a write of the
//! offset then a repeated-START read (`[W1 R1]`, `[W1 R32]`), and prints
//! `<adapter> read<N>: <mean> us (<COUNT> transfers)` per size.
//! `scripts/bench-guest.sh` builds it statically and runs it in a guest.

use std::{process::ExitCode, time::Instant};

use virtio_i2c_rust::{
    host::{
        self,
        linux::{LinuxAdapter, LinuxOptions},
        I2cAdapter,
    },
    i2c::{parse_number, Address, Msg, Transfer},
};

fn run(adapter: &mut LinuxAdapter, addr: Address, len: usize, count: u32) -> Result<f64, String> {
    let t = Instant::now();
    for _ in 0..count {
        let mut msgs = Msg::write(addr, vec![0x00])
            .and_then(|w| Ok(vec![w, Msg::read(addr, len)?]))
            .and_then(Transfer::new)
            .map_err(|e| e.to_string())?;
        host::transfer(adapter, &mut msgs).map_err(|f| f.error.to_string())?;
    }
    Ok(t.elapsed().as_secs_f64() * 1e6 / f64::from(count))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(host), Some(addr)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: i2c_bench ADAPTER ADDR [COUNT]");
        return ExitCode::from(2);
    };
    let Some(addr) = parse_number(addr)
        .and_then(|a| u8::try_from(a).ok())
        .and_then(Address::seven)
    else {
        eprintln!("i2c_bench: bad address '{addr}'");
        return ExitCode::from(2);
    };
    let count = args.get(3).and_then(|c| c.parse().ok()).unwrap_or(2000u32);
    let mut adapter = match LinuxAdapter::open(host, &LinuxOptions::default()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("i2c_bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = adapter.claim(addr, false) {
        eprintln!("i2c_bench: {e}");
        return ExitCode::FAILURE;
    }
    for len in [1, 32] {
        // Warm-up, then the measured run.
        if let Err(e) = run(&mut adapter, addr, len, 20)
            .and_then(|_| run(&mut adapter, addr, len, count))
            .map(|us| {
                println!("{host} read{len}: {us:.1} us ({count} transfers)");
            })
        {
            eprintln!("i2c_bench: read{len} on {host}: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
