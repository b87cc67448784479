//! Fuzz target: the PRESETS parser (pictor's object and c2corg's RESIZING_CONFIG list) and the
//! expansion of paths with the presets it reads.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::preset_definitions(data);
});
