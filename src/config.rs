//! Typed configuration from Thumbor-named environment variables and flags.
