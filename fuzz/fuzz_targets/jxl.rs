//! Fuzz target: the JPEG XL header probe and decoder.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::jxl(data);
});
