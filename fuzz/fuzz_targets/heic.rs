//! Fuzz target: the HEIC header read through libheif (container, primary image, size limit),
//! then the decode of small files.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::heic(data);
});
