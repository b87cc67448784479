//! Fuzz target: focal-point records read back from result storage (another instance's, or a
//! damaged object).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::focal_point_record(data);
});
