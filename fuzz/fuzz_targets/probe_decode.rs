//! Fuzz target: the header probe's size equals the decoded size, every format.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::probe_decode(data);
});
