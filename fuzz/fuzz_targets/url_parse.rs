//! Fuzz target: the Thumbor URL grammar, signature check and canonical rebuild.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::url_parse(data);
});
