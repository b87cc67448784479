//! pictor: a Thumbor-compatible image server. The request is one straight walk through these
//! modules: `url` (parse + verify, presets), `source` (load the original), `imaging` (decode,
//! transform, filter, encode), `cache` (keep results), `server` (HTTP in and out), `upload`
//! (take originals in), `jobs` (background renders into result storage: pre-heat, presets of
//! new uploads, `regenerate`). `storage` (a folder or an S3 bucket behind one interface) sits
//! under both `source` and `cache`.

// Every unsafe operation sits in its own `unsafe` block with a `// SAFETY:` line saying why it
// holds, also inside `unsafe fn`s (CI runs clippy with these denied).
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod cache;
pub mod config;
pub mod error;
pub mod fuzzing;
pub mod imaging;
pub mod jobs;
pub mod metrics;
pub mod server;
pub mod source;
pub mod startup_checks;
pub mod storage;
pub mod telemetry;
#[cfg(test)]
pub(crate) mod test_corpus;
pub mod upload;
pub mod url;
