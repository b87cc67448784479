//! Fuzz target: filters with fuzzed parameters and a fuzzed watermark/frame asset.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::filters(data);
});
