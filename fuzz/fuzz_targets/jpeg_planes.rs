//! Fuzz target: the planes decode of the JPEG → JPEG path (pictor's baseline decoder, with
//! libjpeg behind it) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::jpeg_planes(data);
});
