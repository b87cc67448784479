//! Fuzz target: our J2K SIZ check, hayro's header read and decode.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::jpeg2000(data);
});
