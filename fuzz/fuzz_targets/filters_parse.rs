//! Fuzz target: the `filters:` list splitter and every filter's parameter grammar.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::filters_parse(data);
});
