//! Fuzz target: Haar cascade models (the token text the profile and glasses detectors read),
//! damaged or made up.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::haar_cascade(data);
});
