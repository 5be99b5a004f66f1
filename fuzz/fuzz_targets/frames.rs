//! See oxvirt_daemon::fuzzing::frames.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| oxvirt_daemon::fuzzing::frames(data));
