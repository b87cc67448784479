//! Fuzz target: the multipart/form-data reader of `POST /image` (`upload::multipart`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::multipart(data);
});
