//! Fuzz target: the SVG reader's limits, usvg's conversion and a small draw.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::svg(data);
});
