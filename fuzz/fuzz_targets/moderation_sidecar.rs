//! Fuzz target: moderation sidecars read back from the storage of originals (written by
//! another version, damaged, or put there by anyone with write access to the bucket).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::moderation_sidecar(data);
});
