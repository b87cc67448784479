//! Fuzz target: decode + the whole pipeline on arbitrary original bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::render(data);
});
