//! Typed parameter lists: bounded decoding and an exact encode/decode round trip.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    oxvirt_daemon::fuzzing::typed_params(data);
});
