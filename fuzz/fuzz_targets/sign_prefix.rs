//! Fuzz target: `/sign`'s prefix confinement and the loaders' URL normalisation; a path the
//! confinement accepts must never load a name outside the prefix.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::sign_prefix(data);
});
