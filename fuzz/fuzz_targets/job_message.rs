//! Fuzz target: the background work readers, a `POST /preheat` body and a queue message body
//! (`jobs::message`); what they accept stays within their bounds.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor::fuzzing::job_message(data);
});
