//! The in-memory result cache.
