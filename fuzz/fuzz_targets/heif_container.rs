//! Fuzz target: the HEIF/AVIF container reader alone.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::heif_container(data);
});
