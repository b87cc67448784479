//! pictor: a Thumbor-compatible image server. The request is one straight walk through these
//! modules: `url` (parse + verify), `source` (load the original), `imaging` (decode, transform,
//! filter, encode), `cache` (keep results), `server` (HTTP in and out).

pub mod cache;
pub mod config;
pub mod error;
pub mod fuzzing;
pub mod imaging;
pub mod metrics;
pub mod server;
pub mod source;
pub mod telemetry;
pub mod url;
