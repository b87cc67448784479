//! Fuzz target: the progressive JPEG writer on arbitrary planes (its output must read back).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::jpeg_writer(data);
});
