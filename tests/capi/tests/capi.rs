// SPDX-License-Identifier: GPL-2.0-or-later
//! Runs the C tests (c/*.c), linked against the library's C API.

use std::ffi::c_int;

// Link the library: its `vi2c_*` symbols are what the C code calls.
extern crate virtio_i2c_rust;

#[link(name = "vi2c_ctests", kind = "static")]
extern "C" {
    fn vi2c_ctest_version() -> c_int;
    fn vi2c_ctest_null_arguments() -> c_int;
    fn vi2c_ctest_flags() -> c_int;
    fn vi2c_ctest_linux_errors() -> c_int;
    fn vi2c_ctest_bus_callbacks() -> c_int;
    fn vi2c_ctest_malformed() -> c_int;
    fn vi2c_ctest_policy_errors() -> c_int;
    fn vi2c_ctest_read_only() -> c_int;
    fn vi2c_ctest_features() -> c_int;
    fn vi2c_ctest_threaded_concurrent() -> c_int;
    fn vi2c_ctest_reset() -> c_int;
    fn vi2c_ctest_host_i2cdev() -> c_int;
    fn vi2c_ctest_capture() -> c_int;
}

macro_rules! ctest {
    ($($name:ident => $f:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            // SAFETY: the C test functions take no arguments and only use
            // the library's C API as documented.
            assert_eq!(unsafe { $f() }, 0, "C test {} failed (see stderr)", stringify!($f));
        }
    )*};
}

ctest! {
    version => vi2c_ctest_version,
    null_arguments => vi2c_ctest_null_arguments,
    flags => vi2c_ctest_flags,
    linux_errors => vi2c_ctest_linux_errors,
    bus_callbacks => vi2c_ctest_bus_callbacks,
    malformed => vi2c_ctest_malformed,
    policy_errors => vi2c_ctest_policy_errors,
    read_only => vi2c_ctest_read_only,
    features => vi2c_ctest_features,
    threaded_concurrent => vi2c_ctest_threaded_concurrent,
    reset => vi2c_ctest_reset,
    host_i2cdev => vi2c_ctest_host_i2cdev,
    capture => vi2c_ctest_capture,
}
