//! See oxvirt_daemon::fuzzing::log_settings.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| oxvirt_daemon::fuzzing::log_settings(data));
